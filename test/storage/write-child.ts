// A storage write in a process of its own, so a test can SIGKILL it mid-upload like a crashed worker.
// argv: key seed bytes [metadata JSON]; prints each checkpoint (what an activity would heartbeat) as one JSON line.
import { writeObject } from '../../src/storage/writer';
import { deterministicBody, testStore, testStoreEnv } from './support';

async function main(): Promise<void> {
  const [key, seed, bytes, metadata] = process.argv.slice(2);
  const store = testStore();
  await writeObject(
    store,
    { target: { kind: 's3', bucket: testStoreEnv().bucket, key: key! }, body: deterministicBody(seed!, Number(bytes), { delayMs: 20 }), metadata: metadata ? (JSON.parse(metadata) as Record<string, string>) : undefined, partSizeBytes: 5 * 1024 * 1024, concurrency: 2 },
    { onCheckpoint: (cp) => process.stdout.write(`${JSON.stringify(cp)}\n`) },
  );
  process.stdout.write('DONE\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
