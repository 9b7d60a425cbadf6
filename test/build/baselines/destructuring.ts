// Destructuring: a default with a site, a rest element; parameter defaults, patterns and rest.
import { checkpoint } from 'ppp2p';

async function fallback(): Promise<string> {
  await checkpoint();
  return 'default';
}

export async function unpack(config: { host?: string; port: number; tags: string[] }): Promise<string> {
  const { host = await fallback(), port, ...rest } = config;
  await checkpoint();
  return `${host}:${port} ${rest.tags.join(',')}`;
}

export async function params(name: string, times = 2, { sep }: { sep: string } = { sep: '-' }, ...more: string[]): Promise<string> {
  await checkpoint();
  return [name, times, sep, ...more].join(sep);
}
