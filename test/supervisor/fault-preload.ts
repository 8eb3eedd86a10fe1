/**
 * Test-only, never loaded by eventgate itself: `node --require` of this file
 * (through NODE_OPTIONS, so that cluster workers load it too) makes SIGUSR2 a
 * real fault in the process that gets it, outside any try/catch or promise
 * chain of eventgate: EVENTGATE_TEST_FAULT=throw throws from the signal
 * handler (an uncaught exception), =reject rejects a promise nobody awaits
 * (an unhandled rejection). test/supervisor/fatal.test.ts uses it.
 */
const FAULT_MARK = 'eventgate-test-fault';

process.on('SIGUSR2', () => {
  const err = new Error(`${FAULT_MARK}: forced by SIGUSR2`);
  if (process.env.EVENTGATE_TEST_FAULT === 'reject') void Promise.reject(err);
  else throw err;
});
