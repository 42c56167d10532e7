// Lint is part of `npm test`. Formatting is prettier's job (`npm run format:check`); this catches what it cannot:
// import cycles, lines too long to read in a review, and libraries that read the environment, print or exit.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import tseslint from 'typescript-eslint';

const noSideChannels = [
  { object: 'process', property: 'env', message: 'libraries take configuration as arguments; the CLI reads the environment once' },
  { object: 'process', property: 'exit', message: 'libraries throw typed errors; only the CLI sets the exit code' },
  { object: 'process', property: 'stdout', message: 'libraries return values; only the CLI prints' },
  { object: 'process', property: 'stderr', message: 'libraries return values; only the CLI prints' },
  { object: 'process', property: 'argv', message: 'libraries take arguments; only the CLI reads argv' },
];

export default tseslint.config(
  { ignores: ['**/node_modules/', '**/dist/', 'cdktf.out/', '.c2c/', 'coverage/', 'reference/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { typescript: true, node: true } },
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
      },
    },
    rules: {
      'import/no-cycle': 'error',
      'max-len': ['error', { code: 150, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // tsc checks unused locals, imports and parameters of TypeScript (noUnusedLocals, noUnusedParameters in
    // tsconfig.json) in npm test; the same check here took a third of the lint time.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', ...noSideChannels],
      'no-console': 'error',
    },
  },
  {
    // A long function is a phase without a name: none over 100 lines (blank lines and comments not counted) outside
    // tests and data tables.
    files: ['lib/**/*.ts', 'constructs/**/*.ts', 'scripts/**/*.ts', 'scripts/**/*.mjs', 'packages/*/src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }] },
  },
  {
    // Mechanism below policy: lib/deploy moves apps (render, diff, submit, wait, roll back); lib/gate decides who may
    // (plans, approvals, signatures, four-eyes, known-good, break-glass) and calls deploy, never the other way.
    files: ['lib/deploy/**/*.ts'],
    rules: {
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './lib/deploy',
              from: './lib/gate',
              message: 'lib/deploy is mechanism and knows nothing of the gate; move the policy into lib/gate, which calls deploy',
            },
          ],
        },
      ],
    },
  },
  {
    // Only the gate seals the hooks that let the deploy library change production (lib/deploy/guard.ts).
    files: ['lib/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', '__tests__/**/*.ts', 'constructs/**/*.ts', 'services/**/*.ts', '*.ts'],
    ignores: ['lib/gate/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/deploy/guard'],
              importNames: ['sealHook'],
              message: 'only lib/gate seals hooks: production changes go through the gate (applyPlan, gatedRollback)',
            },
          ],
        },
      ],
    },
  },
  {
    // The local Marathon is an engine of its own: it shares no code with the client it is a test double for, and
    // depends on nothing but Node. Its runtime code may import Node built-ins (with the node: prefix) and its own files.
    files: ['packages/local-marathon/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-require-imports': 'error',
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\.)',
              message: 'the local Marathon imports only Node built-ins (node:...) and its own files',
            },
          ],
        },
      ],
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/local-marathon/src',
              from: './',
              except: ['./packages/local-marathon/src'],
              message: 'the local Marathon imports only Node built-ins and its own files',
            },
          ],
        },
      ],
    },
  },
);
