// `dfuse` from source: `npx tsx --conditions=@x/source apps/dfs/src/dfuse-cli.ts --pool P --cont C -m DIR`.
import { runDfuse } from './dfuse-main.ts'

process.exit(await runDfuse(process.argv.slice(2)))
