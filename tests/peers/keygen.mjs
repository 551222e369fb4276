// Generates a key pair for private_key_jwt tests and prints one JSON line:
// {"private_pem": PKCS#8 PEM, "jwks": {"keys": [public JWK with kid, alg, use]}}.
// Usage: node keygen.mjs RS384|ES384 KID
import { generateKeyPairSync } from 'node:crypto';

const [alg = 'RS384', kid = 'test-key'] = process.argv.slice(2);
const { privateKey, publicKey } = alg.startsWith('ES')
  ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
  : generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
process.stdout.write(`${JSON.stringify({
  private_pem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
  jwks: { keys: [jwk] },
})}\n`);
