/** The model registry's rules and port (DESIGN.md §6). Pure: imports nothing from AWS. */
export * from './rules.ts';
export * from './types.ts';
