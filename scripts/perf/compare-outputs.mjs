import * as ort from 'onnxruntime-node';
const [a, b, side] = process.argv.slice(2);
const s = Number(side);
const feeds = (session) => {
  const f = {};
  for (const name of session.inputNames) {
    if (name === 'sample')
      f[name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: 4 * s * s }, (_, i) => Math.sin(i)),
        [1, 4, s, s],
      );
    else if (name === 'timestep') f[name] = new ort.Tensor('int64', BigInt64Array.of(500n), [1]);
    else
      f[name] = new ort.Tensor(
        'float32',
        Float32Array.from({ length: 77 * 768 }, (_, i) => Math.cos(i) * 0.5),
        [1, 77, 768],
      );
  }
  return f;
};
const out = async (path) => {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 2, logSeverityLevel: 3, enableMemPattern: false });
  const r = await session.run(feeds(session));
  return Float32Array.from(r.out_sample.data);
};
const x = await out(a);
const y = await out(b);
let num = 0,
  den = 0;
for (let i = 0; i < x.length; i++) {
  num += (x[i] - y[i]) ** 2;
  den += x[i] ** 2;
}
console.log(`relative error of ${b} against ${a}: ${Math.sqrt(num / den).toExponential(2)}`);
