#!/usr/bin/env node
// dfuse: the built entry point when published; from a source checkout, run
// `npx tsx --conditions=@x/source apps/dfs/src/dfuse-cli.ts ARGS` instead.
const { runDfuse } = await import('../dist/dfuse-main.js')
process.exit(await runDfuse(process.argv.slice(2)))
