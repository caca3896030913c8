import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { runCrushtool } from '../src/index.ts'

const here = dirname(fileURLToPath(import.meta.url))
const golden = join(here, '..', '..', '..', 'packages', 'crush', 'testdata', 'golden')
const dir = mkdtempSync(join(tmpdir(), 'crushtool-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface Run {
  status: number
  stdout: string
  stderr: string
}

function run(...argv: string[]): Run {
  let stdout = ''
  let stderr = ''
  const status = runCrushtool(argv, {
    stdout: (t) => {
      stdout += t
    },
    stderr: (t) => {
      stderr += t
    },
    readFile: (p) => new Uint8Array(readFileSync(p)),
    writeFile: (p, d) => writeFileSync(p, d),
    resolvePath: (p) => resolve(dir, p),
  })
  return { status, stdout, stderr }
}

describe('crushtool', () => {
  it('prints the same mappings as Ceph for a golden run (-i binary map)', () => {
    const r = run('-i', join(golden, 'example.bin'), '--test', '--min-x', '0', '--max-x', '99', '--show-mappings', '--show-statistics', '--show-bad-mappings', '--show-utilization')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe(gunzipSync(readFileSync(join(golden, 'example.run0.out.gz'))).toString('utf8'))
  })

  it('reads text maps with -i too', () => {
    const r = run('-i', join(golden, 'example.txt'), '--test', '--min-x', '0', '--max-x', '199', '--show-mappings', '--weight', '15', '0', '--weight', '16', '0', '--rule', '2', '--num-rep', '6')
    expect(r.stdout).toBe(gunzipSync(readFileSync(join(golden, 'example.run1.out.gz'))).toString('utf8'))
  })

  it('compiles (-c -o) to crushtool bytes and decompiles (-d) to crushtool text', () => {
    expect(run('-c', join(golden, 'classes-straw2.txt'), '-o', 'out.bin').status).toBe(0)
    expect(readFileSync(join(dir, 'out.bin')).equals(readFileSync(join(golden, 'classes-straw2.bin')))).toBe(true)
    const d = run('-d', 'out.bin')
    expect(d.stdout).toBe(readFileSync(join(golden, 'classes-straw2.decompiled.txt'), 'utf8'))
    expect(run('-d', 'out.bin', '-o', 'out.txt').status).toBe(0)
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe(d.stdout)
  })

  it('builds like crushtool --build', () => {
    const r = run('--build', '--num_osds', '100', 'host', 'straw2', '5', 'rack', 'straw2', '4', 'root', 'straw2', '0', '-o', 'built.bin')
    expect(r.status).toBe(0)
    expect(readFileSync(join(dir, 'built.bin')).equals(readFileSync(join(golden, 'built-100.bin')))).toBe(true)
    const noOut = run('--build', '--num_osds', '4', 'host', 'straw2', '2', 'root', 'straw2', '0')
    expect(noOut.stdout).toBe("crushtool successfully built or modified map.  Use '-o <file>' to write it out.\n")
  })

  it('compares two maps', () => {
    const same = run('-i', join(golden, 'built-100.bin'), '--compare', join(golden, 'built-100.bin'), '--num-rep', '3', '--min-x', '0', '--max-x', '99')
    expect(same).toEqual({ status: 0, stdout: 'rule 0 had 0/100 mismatched mappings (0)\nmaps appear equivalent\n', stderr: '' })
    run('-i', join(golden, 'built-100.bin'), '--reweight-item', 'osd.3', '3.0', '-o', 'changed.bin')
    const diff = run('-i', join(golden, 'built-100.bin'), '--compare', 'changed.bin', '--num-rep', '3', '--min-x', '0', '--max-x', '999')
    expect(diff.status).toBe(1)
    expect(diff.stdout).toMatch(/^rule 0 had \d+\/1000 mismatched mappings \(0\.\d+\)\n$/)
    expect(diff.stderr).toBe('warning: maps are NOT equivalent\n')
  })

  it('applies tunables and edits', () => {
    expect(run('-i', join(golden, 'example.bin'), '--set-choose-total-tries', '77', '-o', 't.bin').status).toBe(0)
    expect(run('-d', 't.bin').stdout).toContain('tunable choose_total_tries 77\n')
    expect(run('-i', 't.bin', '--add-item', '30', '1.0', 'osd.30', '--loc', 'host', 'h1', '--loc', 'root', 'default', '-o', 'a.bin').status).toBe(0)
    expect(run('-d', 'a.bin').stdout).toContain('\titem osd.30 weight 1.000\n')
    expect(run('-i', 'a.bin', '--remove-item', 'osd.30', '-o', 'b.bin').status).toBe(0)
    expect(run('-d', 'b.bin').stdout).not.toContain('osd.30')
  })

  it('fails cleanly on bad input, without stack traces', () => {
    writeFileSync(join(dir, 'garbage.bin'), Uint8Array.from([0, 0, 1, 0, 9, 9, 9]))
    writeFileSync(join(dir, 'bad.txt'), 'device 0 osd.0\ntype 0 osd\nrule x { id 0 }\n')
    const cases: [string[], RegExp][] = [
      [['-i', 'missing.bin', '--test'], /^crushtool: error reading 'missing\.bin': can't open missing\.bin: \(2\) No such file or directory\n$/],
      [['-i', 'garbage.bin', '--test'], /^crushtool: unable to decode garbage\.bin/],
      [['-c', 'bad.txt', '-o', 'x.bin'], /bad\.txt:3 error: /],
      [['--test', '--num-rep', 'x'], /invalid integer 'x' for --num-rep/],
      [['-i', join(golden, 'example.bin'), '--bogus'], /unrecognized argument '--bogus'/],
      [['--build', '--num_osds', '4', 'host', 'straw2'], /layers must be specified with 3-tuples/],
      [['--build', '--num_osds', '4', 'host', 'nope', '2'], /unknown bucket type 'nope'/],
      [[], /no action specified/],
    ]
    for (const [argv, re] of cases) {
      const r = run(...argv)
      expect(r.status, argv.join(' ')).not.toBe(0)
      expect(r.stderr, argv.join(' ')).toMatch(re)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('runs as a process from the repository root (pnpm -s crushtool)', () => {
    const root = join(here, '..', '..', '..')
    const r = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['--conditions=@x/source', join(root, 'apps', 'cli', 'src', 'crushtool', 'main.ts'), '-i', 'example.bin', '--test', '--rule', '0', '--num-rep', '3', '--x', '1', '--show-mappings'], {
      cwd: root,
      env: { ...process.env, INIT_CWD: golden },
      encoding: 'utf8',
    })
    expect(r.stdout).toBe('CRUSH rule 0 x 1 [9,0,4]\n')
    expect(r.status).toBe(0)
  })
})
