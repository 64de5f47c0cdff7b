/**
 * The spec of a remote image generator: `<scheme>:http(s)://host:port[/path][#key=value&…]` (the fragment carries
 * the generator's own options, e.g. ComfyUI's `#ckpt=model.safetensors`). A spec that is not that is one
 * `invalid-argument` line naming the field `generator`.
 */
import { PmgError } from '../../errors/pmg-error.js';
import { splitProviderSpec } from '../provider-spec.js';

export interface RemoteSpec {
  /** The server's base URL, without a trailing slash. */
  baseUrl: string;
  /** The fragment's `key=value` pairs. */
  params: Record<string, string>;
}

export function remoteBaseUrl(spec: string, scheme: string, allowed: readonly string[] = []): RemoteSpec {
  const { target } = splitProviderSpec(spec);
  const [address = '', fragment] = target.split('#', 2) as [string, string | undefined];
  const bad = (why: string): never => {
    throw new PmgError(
      'invalid-argument',
      `generator: '${spec}' ${why}; write ${scheme}:http://host:port${allowed.length ? `[#${allowed.map((k) => `${k}=…`).join('&')}]` : ''}`,
      {
        details: { field: 'generator', spec },
      },
    );
  };
  let url: URL | undefined;
  try {
    url = new URL(address);
  } catch {
    bad('has no server URL');
  }
  if (url!.protocol !== 'http:' && url!.protocol !== 'https:') bad(`has a ${url!.protocol} URL, not http or https`);
  const params: Record<string, string> = {};
  for (const part of (fragment ?? '').split('&').filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (!allowed.includes(key)) bad(`has an unknown option '${key}'`);
    params[key] = decodeURIComponent(eq < 0 ? '' : part.slice(eq + 1));
  }
  return { baseUrl: `${url!.origin}${url!.pathname.replace(/\/+$/, '')}`, params };
}

/** The image generator schemes that name a remote server. */
export const remoteGeneratorSchemes = ['a1111', 'comfyui'] as const;

/** What the fragment of each scheme may carry. */
const schemeOptions: Readonly<Record<(typeof remoteGeneratorSchemes)[number], readonly string[]>> = { a1111: [], comfyui: ['ckpt'] };

/** A remote generator spec checked without contacting the server (the job field and `--generator`); one line naming `generator` otherwise. */
export function checkRemoteGeneratorSpec(spec: string): string {
  const trimmed = spec.trim();
  const { scheme } = splitProviderSpec(trimmed);
  const known = remoteGeneratorSchemes.find((s) => s === scheme);
  if (!known)
    throw new PmgError(
      'invalid-argument',
      `generator: '${spec}' is not a remote generator; write a1111:http://host:port or comfyui:http://host:port[#ckpt=<checkpoint>]`,
      {
        details: { field: 'generator', spec },
      },
    );
  remoteBaseUrl(trimmed, known, schemeOptions[known]);
  return trimmed;
}
