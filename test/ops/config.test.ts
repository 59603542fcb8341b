import { ConfigError, loadConfig } from '../../src/config';

const load = (vars: Record<string, string>) => loadConfig({ HOME: '/nonexistent', ...vars });

describe('REELAY_METRICS_ADDR', () => {
  it('is off unless set, and takes host:port', () => {
    expect(load({}).metricsAddr).toBeUndefined();
    expect(load({ REELAY_METRICS_ADDR: ' ' }).metricsAddr).toBeUndefined();
    for (const ok of ['0.0.0.0:9464', '127.0.0.1:0', 'worker-1.internal:9464', '[::]:9464']) expect(load({ REELAY_METRICS_ADDR: ok }).metricsAddr).toBe(ok);
  });

  it('a bad value stops start-up naming the variable', () => {
    for (const bad of ['9464', 'localhost', ':9464', '0.0.0.0:70000', 'http://0.0.0.0:9464']) {
      let problems: string[] = [];
      try {
        load({ REELAY_METRICS_ADDR: bad });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problems = err.problems;
      }
      expect(problems).toEqual([`REELAY_METRICS_ADDR=${JSON.stringify(bad)}: must be host:port (e.g. 0.0.0.0:9464) to serve /metrics, /healthz and /readyz, or unset for none`]);
    }
  });
});
