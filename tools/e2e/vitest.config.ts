export { default } from '@x/vitest-config'
