/**
 * The client side of the object I/O wire protocol: `@x/protocol`'s OBJ_* request codecs on a
 * `@x/cart` protocol (base `0x04000000`, version 1, indexes 1-5 so cart opcodes equal
 * `Opcode.OBJ_*`). Each reply is the protocol's reply plus an optional pool map, which an engine
 * sends when the client's map is stale. The definitions live in `@x/protocol`, shared with the
 * engine; this module gives them the client's names, so the library carries no server code.
 *
 * @module
 */
export {
  type ObjEnumerateInput as EnumerateInput,
  type ObjEnumerateOutput as EnumerateOutput,
  type ObjFetchInput as FetchInput,
  type ObjFetchOutput as FetchOutput,
  type ObjPunchInput as PunchInput,
  type ObjPunchOutput as PunchOutput,
  type ObjQueryKeyInput as QueryKeyInput,
  type ObjQueryKeyOutput as QueryKeyOutput,
  type ObjUpdateInput as UpdateInput,
  type ObjUpdateOutput as UpdateOutput,
  objEnumerateRpc as enumerateRpc,
  objFetchRpc as fetchRpc,
  objPunchRpc as punchRpc,
  objQueryKeyRpc as queryKeyRpc,
  objUpdateRpc as updateRpc,
  objectProtocol as clientObjectProtocol,
} from '@x/protocol'
