// The import graph of docs/architecture.md, as data: package -> workspace packages it may import.
// An arrow means "may import"; nothing imports upward; packages never import apps.

/** @type {Readonly<Record<string, readonly string[]>>} */
export const layerGraph = Object.freeze({
  '@x/common': [],
  '@x/crush': ['@x/common'],
  '@x/raft': ['@x/common'],
  '@x/swim': ['@x/common'],
  '@x/caps': ['@x/common'],
  '@x/tse': ['@x/common'],
  '@x/spdk-io': ['@x/common'],
  '@x/vos': ['@x/common', '@x/spdk-io'],
  '@x/rdma-transport': ['@x/common'],
  '@x/msgr': ['@x/common', '@x/rdma-transport'],
  '@x/cart': ['@x/common', '@x/rdma-transport', '@x/msgr'],
  '@x/protocol': ['@x/common', '@x/crush', '@x/rdma-transport', '@x/msgr', '@x/cart'],
  '@x/engine': [
    '@x/common', '@x/crush', '@x/spdk-io', '@x/vos', '@x/rdma-transport', '@x/msgr', '@x/cart',
    '@x/tse', '@x/raft', '@x/swim', '@x/caps', '@x/protocol',
  ],
})

/** Package names that live under apps/: no package may import them. */
export const appPackages = Object.freeze(['@x/client', '@x/daemon', '@x/cli', '@x/dfs'])

/** Directory name under packages/ for each package name (they are the same but for the scope). */
export function packageDirName(packageName) {
  return packageName.replace(/^@x\//, '')
}
