/**
 * A provider spec is `<scheme>:<target>` (`onnx:owner/name`, `openai:http://127.0.0.1:8000/v1`) or a bare target
 * (a folder or repo id) that the kind's default scheme takes. A one-letter prefix is a Windows drive letter
 * (`C:\models\sd`), i.e. a folder.
 */
export interface ProviderSpec {
  /** The scheme in lower case, when the spec names one. */
  scheme?: string;
  /** The rest of the spec (the whole trimmed spec when it names no scheme). */
  target: string;
}

export function splitProviderSpec(spec: string): ProviderSpec {
  const trimmed = spec.trim();
  const prefix = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(trimmed)?.[1];
  if (prefix === undefined || prefix.length === 1) return { target: trimmed };
  return { scheme: prefix.toLowerCase(), target: trimmed.slice(prefix.length + 1) };
}
