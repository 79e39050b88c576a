// ESLint flat config: @eslint/js and typescript-eslint's recommended rules (syntax-based, no type
// information, so the lint stays fast on two cores). Layering is checked by dependency-cruiser
// (.dependency-cruiser.cjs), formatting by prettier (.prettierrc.json).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { defineConfig } from 'eslint/config';

const node = Object.fromEntries(
  ['process', 'Buffer', 'URL', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'fetch'].map(
    (name) => [name, 'readonly'],
  ),
);

export default defineConfig(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: node },
    rules: {
      // `const self = this` for objects whose methods close over their owner (s3-backend's unverified())
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['self'] }],
      // `_` and `_name` mark what is left out on purpose: const { secret: _, ...rest } = o
      '@typescript-eslint/no-unused-vars': [
        'error',
        { varsIgnorePattern: '^_', argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...node, module: 'writable', require: 'readonly' } },
  },
  {
    // tests decode untyped JSON from the wire and from child processes
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
