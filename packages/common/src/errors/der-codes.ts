/**
 * The DER error numbers, with the values and descriptions DAOS uses (`daos_errno.h`): GURT codes
 * from -1001, DAOS codes from -2001. APIs report them negative, as DAOS's do.
 *
 * @module
 */

/** One row of the table: the code's name, its (negative) number and its description. */
export interface DerCodeInfo {
  readonly name: DerName
  readonly code: number
  readonly description: string
}

const gurtBase = 1000
const daosBase = 2000

/** Every DER code by name, with its negative numeric value. */
export const derCodes = {
  DER_SUCCESS: 0,
  DER_NO_PERM: -(gurtBase + 1),
  DER_NO_HDL: -(gurtBase + 2),
  DER_INVAL: -(gurtBase + 3),
  DER_EXIST: -(gurtBase + 4),
  DER_NONEXIST: -(gurtBase + 5),
  DER_UNREACH: -(gurtBase + 6),
  DER_NOSPACE: -(gurtBase + 7),
  DER_ALREADY: -(gurtBase + 8),
  DER_NOMEM: -(gurtBase + 9),
  DER_NOSYS: -(gurtBase + 10),
  DER_TIMEDOUT: -(gurtBase + 11),
  DER_BUSY: -(gurtBase + 12),
  DER_AGAIN: -(gurtBase + 13),
  DER_PROTO: -(gurtBase + 14),
  DER_UNINIT: -(gurtBase + 15),
  DER_TRUNC: -(gurtBase + 16),
  DER_OVERFLOW: -(gurtBase + 17),
  DER_CANCELED: -(gurtBase + 18),
  DER_OOG: -(gurtBase + 19),
  DER_HG: -(gurtBase + 20),
  DER_UNREG: -(gurtBase + 21),
  DER_ADDRSTR_GEN: -(gurtBase + 22),
  DER_PMIX: -(gurtBase + 23),
  DER_IVCB_FORWARD: -(gurtBase + 24),
  DER_MISC: -(gurtBase + 25),
  DER_BADPATH: -(gurtBase + 26),
  DER_NOTDIR: -(gurtBase + 27),
  DER_CORPC_INCOMPLETE: -(gurtBase + 28),
  DER_NO_RAS_RANK: -(gurtBase + 29),
  DER_NOTATTACH: -(gurtBase + 30),
  DER_MISMATCH: -(gurtBase + 31),
  DER_EXCLUDED: -(gurtBase + 32),
  DER_NOREPLY: -(gurtBase + 33),
  DER_DOS: -(gurtBase + 34),
  DER_BAD_TARGET: -(gurtBase + 35),
  DER_GRPVER: -(gurtBase + 36),
  DER_HLC_SYNC: -(gurtBase + 37),
  DER_NO_SHMEM: -(gurtBase + 38),
  DER_SHMEM_PERMS: -(gurtBase + 44),
  DER_IO: -(daosBase + 1),
  DER_FREE_MEM: -(daosBase + 2),
  DER_ENOENT: -(daosBase + 3),
  DER_NOTYPE: -(daosBase + 4),
  DER_NOSCHEMA: -(daosBase + 5),
  DER_NOLOCAL: -(daosBase + 6),
  DER_STALE: -(daosBase + 7),
  DER_NOTLEADER: -(daosBase + 8),
  DER_TGT_CREATE: -(daosBase + 9),
  DER_EP_RO: -(daosBase + 10),
  DER_EP_OLD: -(daosBase + 11),
  DER_KEY2BIG: -(daosBase + 12),
  DER_REC2BIG: -(daosBase + 13),
  DER_IO_INVAL: -(daosBase + 14),
  DER_EQ_BUSY: -(daosBase + 15),
  DER_DOMAIN: -(daosBase + 16),
  DER_SHUTDOWN: -(daosBase + 17),
  DER_INPROGRESS: -(daosBase + 18),
  DER_NOTAPPLICABLE: -(daosBase + 19),
  DER_NOTREPLICA: -(daosBase + 20),
  DER_CSUM: -(daosBase + 21),
  DER_DF_INVAL: -(daosBase + 22),
  DER_DF_INCOMPT: -(daosBase + 23),
  DER_REC_SIZE: -(daosBase + 24),
  DER_TX_RESTART: -(daosBase + 25),
  DER_DATA_LOSS: -(daosBase + 26),
  DER_OP_CANCELED: -(daosBase + 27),
  DER_TX_BUSY: -(daosBase + 28),
  DER_AGENT_INCOMPAT: -(daosBase + 29),
  DER_SHARDS_OVERLAP: -(daosBase + 30),
  DER_RF: -(daosBase + 31),
  DER_FETCH_AGAIN: -(daosBase + 32),
  DER_TX_UNCERTAIN: -(daosBase + 33),
  DER_AGENT_COMM: -(daosBase + 34),
  DER_ID_MISMATCH: -(daosBase + 35),
  DER_UNKNOWN: -(gurtBase + 500_000),
} as const

/** The name of a DER code, such as `'DER_INVAL'`. */
export type DerName = keyof typeof derCodes

const descriptions: Readonly<Record<DerName, string>> = {
  DER_SUCCESS: 'Success',
  DER_NO_PERM: 'Operation not permitted',
  DER_NO_HDL: 'Invalid handle',
  DER_INVAL: 'Invalid parameters',
  DER_EXIST: 'Entity already exists',
  DER_NONEXIST: 'The specified entity does not exist',
  DER_UNREACH: 'Unreachable node',
  DER_NOSPACE: 'No space on storage target',
  DER_ALREADY: 'Operation already performed',
  DER_NOMEM: 'Out of memory',
  DER_NOSYS: 'Function not implemented',
  DER_TIMEDOUT: 'Time out',
  DER_BUSY: 'Device or resource busy',
  DER_AGAIN: 'Try again',
  DER_PROTO: 'Incompatible protocol',
  DER_UNINIT: 'Device or resource not initialized',
  DER_TRUNC: 'Buffer too short',
  DER_OVERFLOW: 'Data too long for defined data type or buffer size',
  DER_CANCELED: 'Operation canceled',
  DER_OOG: 'Out of group or member list',
  DER_HG: 'Transport layer error',
  DER_UNREG: 'RPC or protocol version not registered',
  DER_ADDRSTR_GEN: 'Failed to generate an address string',
  DER_PMIX: 'PMIx layer error',
  DER_IVCB_FORWARD: 'Incast variable unavailable locally. Must forward',
  DER_MISC: 'Miscellaneous error',
  DER_BADPATH: 'Bad path name',
  DER_NOTDIR: 'Not a directory',
  DER_CORPC_INCOMPLETE: 'Collective RPC failed',
  DER_NO_RAS_RANK: 'No rank is subscribed to RAS',
  DER_NOTATTACH: 'Service group not attached',
  DER_MISMATCH: 'Version mismatch',
  DER_EXCLUDED: 'Rank has been excluded',
  DER_NOREPLY: 'User provided RPC handler did not send reply back',
  DER_DOS: 'Denial of service',
  DER_BAD_TARGET: 'Incorrect target for the RPC',
  DER_GRPVER: 'Group versioning mismatch',
  DER_HLC_SYNC: 'HLC synchronization error',
  DER_NO_SHMEM: 'Not enough shared memory free',
  DER_SHMEM_PERMS: 'Unable to access shared memory segment due to incompatible user or group permissions',
  DER_IO: 'I/O error',
  DER_FREE_MEM: 'Memory free error',
  DER_ENOENT: 'Entity not found',
  DER_NOTYPE: 'Unknown object type',
  DER_NOSCHEMA: 'Unknown object schema',
  DER_NOLOCAL: 'Object is not local',
  DER_STALE: 'Stale pool map version',
  DER_NOTLEADER: 'Not service leader',
  DER_TGT_CREATE: 'Target create error',
  DER_EP_RO: 'Epoch is read only',
  DER_EP_OLD: 'Epoch is too old. All data have been recycled',
  DER_KEY2BIG: 'Key is too large',
  DER_REC2BIG: 'Record is too large',
  DER_IO_INVAL: 'I/O buffers do not match object extents',
  DER_EQ_BUSY: 'Event queue is busy',
  DER_DOMAIN: 'Domain of cluster component do not match',
  DER_SHUTDOWN: 'Service should shut down',
  DER_INPROGRESS: 'Operation now in progress',
  DER_NOTAPPLICABLE: 'Not applicable',
  DER_NOTREPLICA: 'Not a service replica',
  DER_CSUM: 'Checksum error',
  DER_DF_INVAL: 'Unsupported durable format',
  DER_DF_INCOMPT: 'Incompatible durable format version',
  DER_REC_SIZE: 'Record size error',
  DER_TX_RESTART: 'Transaction should restart',
  DER_DATA_LOSS: 'Data lost or not recoverable',
  DER_OP_CANCELED: 'Operation canceled',
  DER_TX_BUSY: 'TX is not committed',
  DER_AGENT_INCOMPAT: 'Agent is incompatible with libdaos',
  DER_SHARDS_OVERLAP: 'Shards overlap',
  DER_RF: 'Failures exceed RF',
  DER_FETCH_AGAIN: 'Fetch again',
  DER_TX_UNCERTAIN: 'TX status is uncertain',
  DER_AGENT_COMM: 'Agent communication error',
  DER_ID_MISMATCH: 'ID mismatch',
  DER_UNKNOWN: 'Unknown error',
}

const byCode = new Map<number, DerCodeInfo>(
  (Object.keys(derCodes) as DerName[]).map((name) => [derCodes[name], { name, code: derCodes[name], description: descriptions[name] }]),
)

/** The table row for a code name. */
export function derInfo(name: DerName): DerCodeInfo {
  return { name, code: derCodes[name], description: descriptions[name] }
}

/** The table row for a numeric code (negative or positive), or `DER_UNKNOWN`'s row. */
export function derInfoByCode(code: number): DerCodeInfo {
  return byCode.get(-Math.abs(code)) ?? byCode.get(code) ?? derInfo('DER_UNKNOWN')
}

/** Whether a string names a DER code. */
export function isDerName(name: string): name is DerName {
  return Object.prototype.hasOwnProperty.call(derCodes, name)
}
