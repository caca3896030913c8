// Placement and message coding throughput, each against a reference measured in the same run:
// - placeObject (oid -> groups of shards with ranks, remapping, validation) against the bare
//   CRUSH mapping it is built on (CrushMapper.map of the same rule, inputs and replica count),
//   so the ratio is the cost of everything placement adds on top of CRUSH;
// - an OBJ_UPDATE request encoded and decoded with its StructCodec against JSON.stringify and
//   JSON.parse of the same message (bigints as strings, bytes as arrays).
import { BenchReport, measureSync } from '@x/bench'
import { decodeStruct, encodeStruct } from '@x/common'
import { CrushMapper } from '@x/crush'
import { ObjUpdateRequest, ObjectType, buildPoolMap, generateObjectId, parseObjectClass, placeObject, placementInput, poolMapCrush, poolMapFit } from '../src/index.ts'

const report = new BenchReport('protocol')
const map = buildPoolMap({ ranks: Array.from({ length: 16 }, (_, rank) => ({ rank, host: `node${rank >> 1}`, targets: 8 })) })
const oclass = parseObjectClass('RP_3G1')
const oids = Array.from({ length: 1024 }, (_, i) => generateObjectId({ lo: BigInt(i + 1), type: ObjectType.MULTI_HASHED, oclass, fit: poolMapFit(map) }))
const inputs = Int32Array.from(oids, (oid) => placementInput(oid, 0))
const mapper = new CrushMapper(poolMapCrush(map))
const weights = new Array<number>(128).fill(0x10000)
const out = new Int32Array(3)

let i = 0
const ours = measureSync(() => placeObject(map, oids[i++ & 1023] ?? { hi: 0n, lo: 0n }), { minDurationMs: 700 })
let j = 0
const bare = measureSync(() => mapper.map(0, inputs[j++ & 1023] ?? 0, 3, weights, out), { minDurationMs: 700 })
report.add({ name: 'placeObject RP_3G1, 128 targets', unit: 'ops/s', value: ours.operationsPerSecond, reference: 'bare CrushMapper.map (same rule and x)', referenceValue: bare.operationsPerSecond, higherIsBetter: true })

const message = {
  poolUuid: '00000000-0000-4000-8000-000000000001',
  handleUuid: '00000000-0000-4000-8000-000000000002',
  mapVersion: 7,
  containerUuid: '00000000-0000-4000-8000-000000000003',
  containerHandle: '00000000-0000-4000-8000-000000000004',
  oid: oids[0] ?? { hi: 0n, lo: 0n },
  shard: 2,
  epoch: 123456789n,
  epochFirst: 0n,
  dtx: { uuid: '00000000-0000-4000-8000-000000000005', hlc: 987654321n },
  dkey: new TextEncoder().encode('dkey-0001'),
  iods: [{ akey: new TextEncoder().encode('akey'), type: 'array' as const, recordSizeBytes: 1n, recxs: [{ index: 0n, count: 256n }] }],
  data: [new Uint8Array(256).fill(7)],
  forwardTo: [
    { shard: 1, rank: 3, targetIndex: 2 },
    { shard: 2, rank: 5, targetIndex: 0 },
  ],
}
const codec = measureSync(() => decodeStruct(ObjUpdateRequest, encodeStruct(ObjUpdateRequest, message)), { minDurationMs: 700 })
const replacer = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Array.from(v) : v)
const json = measureSync(() => JSON.parse(JSON.stringify(message, replacer)) as unknown, { minDurationMs: 700 })
report.add({ name: 'OBJ_UPDATE encode+decode (256 B inline)', unit: 'ops/s', value: codec.operationsPerSecond, reference: 'JSON.stringify+parse', referenceValue: json.operationsPerSecond, higherIsBetter: true })
report.write()
