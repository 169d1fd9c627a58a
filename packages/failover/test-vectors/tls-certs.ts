import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Certificates for the TLS tests (the transport's unit test, the failover pair lab), made with openssl in `dir`:
 * a self-signed CA and the nodes' certificates it issues (EC P-256, valid one day), as packages/failover/README.md
 * "Failover over TLS" tells operators to make them. Returns each node's files and their PEM text.
 */
export interface NodeCert {
  files: { cert: string; key: string; ca: string };
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export function makeCa(dir: string, ca: string, nodes: string[]): Record<string, NodeCert> {
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    `/CN=${ca}`,
    '-keyout',
    `${ca}.key`,
    '-out',
    `${ca}.pem`,
  ]);
  const out: Record<string, NodeCert> = {};
  for (const n of nodes) {
    openssl(['req', ...ec, '-subj', `/CN=${n}`, '-keyout', `${n}.key`, '-out', `${n}.csr`]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${n}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${n}.pem`,
    ]);
    const files = { cert: join(dir, `${n}.pem`), key: join(dir, `${n}.key`), ca: join(dir, `${ca}.pem`) };
    out[n] = {
      files,
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      ca: readFileSync(files.ca),
    };
  }
  return out;
}
