import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the package from its sources: bare `ppp2p` imports (the built fixtures' `ppp2p/runtime`) resolve to src/
// through the `ppp2p-source` export condition, so that tests, fixtures and the runtime share one module instance.
const conditions = ['ppp2p-source', ...defaultServerConditions];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['ppp2p-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real daemons; two cores do not take more parallelism well.
    maxWorkers: 2,
  },
});
