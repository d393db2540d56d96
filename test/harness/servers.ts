/**
 * What integration tests call to reach the shared real servers. A missing server is an error
 * with instructions, never a skipped test.
 */
function required(name: string, what: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${what} is required but ${name} is not set. Run the integration tests through \`npm test\` (or \`npm run test:integration\`), whose harness installs and starts it, or set ${name} to a running server.`);
  }
  return value;
}

export function zkConnect(): string {
  return required('ZK_CONNECT', 'a real ZooKeeper server');
}

export function kafkaBrokers(): string[] {
  return required('KAFKA_BROKERS', 'a real Kafka broker').split(',');
}
