import { parsePushDigest } from '../../../lib/docker/push';

const digest = `sha256:${'2d484f28'.repeat(8)}`;

it("reads the digest from docker push's last line for the tag pushed", () => {
  const out = [
    'The push refers to repository [127.0.0.1:5999/bulb-api]',
    '9ad27bbb2a99: Preparing',
    '127de60a8d55: Mounted from billing',
    '9ad27bbb2a99: Pushed',
    `1a2b3c4: digest: ${digest} size: 944`,
  ].join('\n');
  expect(parsePushDigest(out, '1a2b3c4')).toBe(digest);
});

it('ignores the digest of another tag, and output without one', () => {
  expect(parsePushDigest(`latest: digest: ${digest} size: 944\n`, '1a2b3c4')).toBeUndefined();
  expect(parsePushDigest('received unexpected HTTP status: 500 Internal Server Error\n', '1a2b3c4')).toBeUndefined();
  expect(parsePushDigest(`1a2b3c4: digest: sha256:abc size: 944\n`, '1a2b3c4')).toBeUndefined();
});
