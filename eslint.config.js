// Lint runs type-aware rules (a floating promise in a daemon is a lost error) and enforces the package's layers:
// folders under src/ follow process boundaries, and the arrows between them are checked here, not hoped for.
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';

/** A folder of src/ may import only the folders listed for it (and itself). */
const layers = {
  protocol: [],
  runtime: [],
  client: ['protocol', 'runtime'],
  daemon: ['protocol', 'runtime'],
  // The preprocessor depends on the runtime's emitted-code contract only by name (the `ppp2p/runtime` specifier it
  // emits and the SDK declarations it type-checks against), never by import.
  build: [],
  cli: ['protocol', 'runtime', 'client', 'daemon', 'build'],
};
const folders = Object.keys(layers);

export default tseslint.config(
  { ignores: ['.tmp-snap/**', 'node_modules/**', 'dist/**', '**/.out/**', 'test/corpus/**', 'test/reject/**', 'test/fixtures/**', 'bench/results/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      'no-debugger': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: folders
            .map((folder) => ({
              target: `./src/${folder}`,
              from: folders.filter((other) => other !== folder && !layers[folder].includes(other)).map((other) => `./src/${other}`),
              message: `src/${folder} may import only ${[folder, ...layers[folder]].map((f) => `src/${f}`).join(', ')} (see eslint.config.js).`,
            }))
            .filter((zone) => zone.from.length > 0),
        },
      ],
    },
  },
);
