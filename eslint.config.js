// Lint runs type-aware rules: a floating promise in a daemon is a lost error.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['.tmp-snap/**', 'node_modules/**', '**/.out/**', 'test/corpus/**', 'test/reject/**', 'test/fixtures/**', 'bench/results/**'] },
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
);
