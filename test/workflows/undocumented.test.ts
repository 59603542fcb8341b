import { providerReason, undocumentedStatusLine } from '../../src/workflows/shared/undocumented';

describe('answers the docs do not foresee', () => {
  it('a failed job\'s reason is the first text that says something, else a default that says none was given', () => {
    expect(providerReason(['Pexels down', 'Error: Pexels down'], 'no reason given')).toBe('Pexels down');
    expect(providerReason([undefined, '  ', null, 'Job failed. Check error details.'], 'no reason given')).toBe('Job failed. Check error details.');
    expect(providerReason([undefined, ''], 'no reason given (its status answer has no error_message or message)')).toBe(
      'no reason given (its status answer has no error_message or message)',
    );
  });

  it('an undocumented status is said in the progress log as the provider sent it', () => {
    expect(undocumentedStatusLine('AI Studio', 'job j-1', 'PAUSED')).toBe('AI Studio reported status "PAUSED" for job j-1, which the docs do not list; still waiting');
  });
});
