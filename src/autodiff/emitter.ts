/**
 * Appends backward nodes to an ONNX graph: fresh value names, cached constants and shapes, and the broadcast
 * reduction every binary rule needs (a gradient of a broadcast operand is summed over the broadcast axes and
 * reshaped back, with the axes computed in-graph because shapes are dynamic).
 */
import onnxProto from 'onnx-proto';
import { DataType, type Attribute, type DataTypeCode } from '../fixtures/onnx-graph.js';
import { attributeProto, tensorProto } from '../fixtures/onnx-proto-parts.js';

type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

export class Emitter {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private counter = 0;
  private readonly cache = new Map<string, string>();

  /** `taken`: every name the forward graph already uses (new names never collide with them). */
  /** `opset`: the graph's default-domain opset (ReduceMean takes its axes as an input only from 18). */
  constructor(
    private readonly taken: Set<string>,
    readonly opset: number,
  ) {}

  /** ReduceMean over constant axes, keeping them (attribute or input, as the opset wants). */
  reduceMean(x: string, axes: number[]): string {
    const keep = { keepdims: { int: 1 } };
    return this.opset >= 18 ? this.op('ReduceMean', [x, this.ints(axes)], keep) : this.op('ReduceMean', [x], { ...keep, axes: { ints: axes } });
  }

  fresh(hint: string): string {
    let name: string;
    do name = `grad__${hint}_${this.counter++}`;
    while (this.taken.has(name));
    this.taken.add(name);
    return name;
  }

  /** Add a node with `outputs` fresh outputs (or the given names); returns the output names. */
  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs: number | string[] = 1): string[] {
    const names = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    this.nodes.push({
      opType,
      domain: '',
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: names,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return names;
  }

  /** One-output node. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  private cached(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (!name) {
      name = make();
      this.cache.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 constant. */
  ints(values: number[]): string {
    return this.cached(`ints:${values.join(',')}`, () => {
      const name = this.fresh('ints');
      this.initializers.push(tensorProto(name, DataType.INT64, [values.length], BigInt64Array.from(values.map(BigInt))));
      return name;
    });
  }

  /** A 0-d int64 constant. */
  int(value: number): string {
    return this.cached(`int:${value}`, () => {
      const name = this.fresh('int');
      this.initializers.push(tensorProto(name, DataType.INT64, [], BigInt64Array.of(BigInt(value))));
      return name;
    });
  }

  /** The flat position of every element of x, in x's shape (int64): index ops applied to it say where elements went. */
  positions(x: string): string {
    return this.cached(`positions:${x}`, () => this.op('Reshape', [this.op('Range', [this.int(0), this.op('Size', [x]), this.int(1)]), this.shape(x)]));
  }

  /**
   * The cotangent of x when the forward picked x's elements at `picked` (positions(x) sent through the same index
   * op) and `g` is the cotangent of what it picked: scattered back, elements picked twice summed.
   */
  scatterBack(x: string, picked: string, g: string, type: number): string {
    const flat = this.ints([-1]);
    const zeros = this.op('Reshape', [this.zerosLike(x, type), flat]);
    const scattered = this.op('ScatterElements', [zeros, this.op('Reshape', [picked, flat]), this.op('Reshape', [g, flat])], {
      axis: { int: 0 },
      reduction: { string: 'add' },
    });
    return this.op('Reshape', [scattered, this.shape(x)]);
  }

  /** A 0-d float constant of the given type (float32 or float64; float16 via a Cast of a float32 one). */
  scalar(value: number, type: number): string {
    return this.cached(`scalar:${type}:${value}`, () => {
      const name = this.fresh('scalar');
      if (type === DataType.DOUBLE) this.initializers.push(tensorProto(name, DataType.DOUBLE, [], Float64Array.of(value)));
      else if (type === DataType.FLOAT) this.initializers.push(tensorProto(name, DataType.FLOAT, [], Float32Array.of(value)));
      else return this.op('Cast', [this.scalar(value, DataType.FLOAT)], { to: { int: type } });
      return name;
    });
  }

  /** Shape(x), once per value. */
  shape(x: string): string {
    return this.cached(`shape:${x}`, () => this.op('Shape', [x]));
  }

  /** The element count of x as a 0-d tensor of the given float type. */
  count(x: string, type: number): string {
    return this.cached(`count:${x}:${type}`, () => this.op('Cast', [this.op('Size', [x])], { to: { int: type } }));
  }

  /** Zeros of x's shape and the given float type. */
  zerosLike(x: string, type: number): string {
    return this.cached(`zeros:${x}:${type}`, () => this.op('Expand', [this.scalar(0, type), this.shape(x)]));
  }

  /** Gather of one axis' size from a shape, as a 1-D tensor [size]. */
  dim(x: string, axis: number): string {
    return this.cached(`dim:${x}:${axis}`, () => this.op('Gather', [this.shape(x), this.ints([axis])], { axis: { int: 0 } }));
  }

  /**
   * The gradient `g` of a value computed from `x` by broadcasting, brought back to x's shape: summed over the axes
   * where x had size 1 (or was missing) and reshaped to x's shape. `sameShape` skips it when the rule knows.
   */
  unbroadcast(g: string, x: string, sameShape = false): string {
    if (sameShape) return g;
    const gs = this.shape(g);
    const xs = this.shape(x);
    const missing = this.op('Reshape', [this.op('Sub', [this.op('Size', [gs]), this.op('Size', [xs])]), this.ints([1])]);
    const ones = this.op('ConstantOfShape', [missing], { value: { tensor: { type: DataType.INT64, dims: [1], data: BigInt64Array.of(1n) } } });
    const padded = this.op('Concat', [ones, xs], { axis: { int: 0 } });
    const axes = this.op('Reshape', [this.op('NonZero', [this.op('Not', [this.op('Equal', [padded, gs])])]), this.ints([-1])]);
    const summed = this.op('ReduceSum', [g, axes], { keepdims: { int: 1 }, noop_with_empty_axes: { int: 1 } });
    return this.op('Reshape', [summed, xs]);
  }

  /** Sum of gradients that fan in to one value. */
  sum(terms: string[]): string {
    return terms.length === 1 ? terms[0]! : this.op('Sum', terms);
  }
}

export function isFloatType(type: number | undefined): boolean {
  return type === DataType.FLOAT || type === DataType.DOUBLE || type === DataType.FLOAT16 || type === 16;
}

export type { DataTypeCode };
