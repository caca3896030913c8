// Rule `x/layer-imports`: every import in a workspace file must follow the layer graph.
//
// - A relative import may not leave its own workspace package (import the package by name).
// - A file under packages/ may not import an app (by name or by path).
// - No import reaches into another package's `src` (`@x/foo/src/...`): use its exports.
// - A file under packages/<p>/src may import only the packages that layerGraph lists for <p>;
//   its tests and benchmarks may also import the private tools/ packages.
import { dirname, relative, resolve, sep } from 'node:path'
import { appPackages, layerGraph } from './layer-graph.js'

const workspaceRoots = ['packages', 'apps', 'tools']

/** Where a file sits: its workspace kind, package directory and the part after it. */
export function locate(repoRoot, absolutePath) {
  const parts = relative(repoRoot, absolutePath).split(sep)
  for (let i = parts.length - 2; i >= 0; i--) {
    if (workspaceRoots.includes(parts[i]) && i + 1 < parts.length) {
      return { kind: parts[i], dir: parts[i + 1], rest: parts.slice(i + 2), root: parts.slice(0, i + 2).join(sep) }
    }
  }
  return undefined
}

function packageNameOf(location) {
  if (location.kind === 'packages') return `@x/${location.dir}`
  return undefined
}

/** @type {import('eslint').Rule.RuleModule} */
export const layerImportsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the layer graph of docs/architecture.md between workspace packages' },
    schema: [{ type: 'object', properties: { repoRoot: { type: 'string' } }, additionalProperties: false }],
    messages: {
      leavesPackage: "Relative import '{{source}}' leaves this package; import the other package by its name instead.",
      packageImportsApp: "Packages never import apps: '{{source}}' is part of apps/ (see docs/architecture.md).",
      deepImport: "Deep import '{{source}}' reaches into another package's src; import from its package exports instead.",
      layerViolation: "{{from}} may not import {{to}}: the layer graph allows only [{{allowed}}] (see docs/architecture.md).",
    },
  },
  create(context) {
    const options = context.options[0] ?? {}
    const repoRoot = options.repoRoot ?? context.cwd
    const filename = resolve(repoRoot, context.filename)
    const here = locate(repoRoot, filename)
    if (here === undefined) return {}
    const ownName = packageNameOf(here)
    const inSource = here.rest[0] === 'src'

    function check(node, source) {
      if (typeof source !== 'string') return
      if (source.startsWith('.')) {
        const target = locate(repoRoot, resolve(dirname(filename), source))
        if (target === undefined || target.kind !== here.kind || target.dir !== here.dir) {
          if (here.kind === 'packages' && target?.kind === 'apps') {
            context.report({ node, messageId: 'packageImportsApp', data: { source } })
          } else {
            context.report({ node, messageId: 'leavesPackage', data: { source } })
          }
        }
        return
      }
      const match = /^(@x\/[^/]+)(\/.*)?$/.exec(source)
      if (match === null) return
      const [, targetName, subpath = ''] = match
      if (targetName === ownName) return
      if (/^\/src(\/|$)/.test(subpath)) {
        context.report({ node, messageId: 'deepImport', data: { source } })
        return
      }
      if (here.kind !== 'packages') return
      if (appPackages.includes(targetName)) {
        context.report({ node, messageId: 'packageImportsApp', data: { source } })
        return
      }
      const allowed = layerGraph[ownName]
      if (allowed === undefined) return
      if (allowed.includes(targetName)) return
      if (!inSource && !(targetName in layerGraph)) return // private tools/ packages, from tests and benches
      context.report({
        node,
        messageId: 'layerViolation',
        data: { from: ownName, to: targetName, allowed: allowed.join(', ') },
      })
    }

    return {
      ImportDeclaration: (node) => check(node.source, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node.source, node.source.value),
      ExportAllDeclaration: (node) => check(node.source, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    }
  },
}
