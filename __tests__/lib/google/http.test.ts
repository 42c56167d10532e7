import { C2CError } from '../../../lib/errors';
import { googleAccessToken, googleAuthFromEnv, googleFetch } from '../../../lib/google/http';
import { sendJson, startRecordingServer } from '../../helpers/http';

describe('the Google HTTP helper', () => {
  it('takes a token from the environment the CLI passes, else asks the metadata server once', async () => {
    expect(googleAuthFromEnv({ GOOGLE_OAUTH_ACCESS_TOKEN: 't', C2C_METADATA_URL: 'http://m' })).toEqual({
      accessToken: 't',
      metadataUrl: 'http://m',
    });
    expect(await googleAccessToken({ accessToken: 'given' })).toBe('given');
    const md = await startRecordingServer((_req, res) => sendJson(res, 200, { access_token: 'from-md', expires_in: 3599 }));
    try {
      const auth = { metadataUrl: md.url };
      expect(await googleAccessToken(auth)).toBe('from-md');
      expect(await googleAccessToken(auth)).toBe('from-md');
      expect(md.received).toHaveLength(1);
      expect(md.received[0].url).toBe('/computeMetadata/v1/instance/service-accounts/default/token');
      expect(md.received[0].headers['metadata-flavor']).toBe('Google');
    } finally {
      await md.close();
    }
  });

  it('no metadata server is GOOGLE_AUTH with the hint to set a token', async () => {
    const md = await startRecordingServer((_req, res) => sendJson(res, 404, {}));
    await md.close();
    await expect(googleAccessToken({ metadataUrl: md.url }, 1000)).rejects.toMatchObject({
      code: 'GOOGLE_AUTH',
      message: 'no Google credentials: GOOGLE_OAUTH_ACCESS_TOKEN is not set and the metadata server did not answer',
      hint: 'outside Google Cloud, set GOOGLE_OAUTH_ACCESS_TOKEN=$(gcloud auth print-access-token)',
    } satisfies Partial<C2CError>);
  });

  it('sends the bearer token and maps 403, 404 and 500 to one error shape without the query or the token', async () => {
    const srv = await startRecordingServer((req, res) => sendJson(res, Number(req.url.slice(1, 4)), {}));
    try {
      const call = (status: number) =>
        googleFetch(`${srv.url}/${status}?token=secret`, {
          what: 'read thing',
          auth: { accessToken: 'tok' },
          deniedHint: 'grant the role',
        });
      expect((await call(200)).status).toBe(200);
      expect(srv.received[0].headers.authorization).toBe('Bearer tok');
      await expect(call(403)).rejects.toMatchObject({
        code: 'GOOGLE_DENIED',
        message: 'could not read thing: 403 permission denied',
        hint: 'grant the role',
      });
      await expect(call(404)).rejects.toMatchObject({ code: 'GOOGLE_NOT_FOUND', message: 'could not read thing: 404 not found' });
      const err = (await call(500).catch((e: unknown) => e)) as C2CError;
      expect(err).toMatchObject({
        code: 'GOOGLE_HTTP',
        message: 'could not read thing: the API answered 500',
        details: { url: `${srv.url}/500`, status: 500 },
      });
      expect(JSON.stringify(err.details)).not.toContain('secret');
      expect((await googleFetch(`${srv.url}/404`, { what: 'x', auth: null, accept: [404] })).status).toBe(404);
      expect(srv.received[srv.received.length - 1].headers.authorization).toBeUndefined();
    } finally {
      await srv.close();
    }
  });

  it('a server that never answers is GOOGLE_UNREACHABLE after the deadline', async () => {
    const srv = await startRecordingServer(() => undefined);
    try {
      await expect(googleFetch(srv.url, { what: 'read thing', auth: null, timeoutMs: 200 })).rejects.toMatchObject({
        code: 'GOOGLE_UNREACHABLE',
        message: 'could not read thing: no answer within 200 ms',
      });
    } finally {
      await srv.close();
    }
  });
});
