// One test per rule of the Docker reference grammar (lib/docker/reference.ts), the one check of every image that
// enters: --image, plan files, service files.
import { imageReferenceProblem } from '../../../lib/docker/reference';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;

it.each([
  'registry.internal:5000/bulb-api:3f2a9c1',
  'bulb-api:3f2a9c1',
  'localhost/team/app:v1.2_3',
  'docker.io/library/nginx:1.25',
  `nginx@${digest}`,
  `nginx:1.25@${digest}`,
  'a__b.c-d---e:latest',
  '[::1]:5000/app:1',
])('accepts %s', (ref) => expect(imageReferenceProblem(ref)).toBeNull());

it.each([
  [
    'registry.internal:5000/Payments:abc123',
    "has an upper-case repository 'Payments'; repository names are lower-case: use 'registry.internal:5000/payments:abc123'",
  ],
  ['Payments:abc123', "has an upper-case repository 'Payments'; repository names are lower-case: use 'payments:abc123'"],
  ['bulb-api', "has no tag or digest; add one, e.g. 'bulb-api:3f2a9c1'"],
  ['bulb_-api:1', "has an invalid repository component 'bulb_-api'; use lower-case letters and digits, separated by '.', '_', '__' or '-'"],
  ['bulb-api:-x', "has an invalid tag '-x'; a tag is letters, digits, '_', '.' and '-' (at most 128, not starting with '.' or '-')"],
  ['bulb-api@sha256:abc', "has an invalid digest 'sha256:abc'; write sha256:<64 lower-case hex digits>"],
  ['bad_host.example:5000/app:1', "has an invalid registry 'bad_host.example:5000'; write host[:port], e.g. registry.internal:5000"],
  ['bulb api:1', "contains white space; give one reference, e.g. 'registry.internal:5000/bulb-api:3f2a9c1'"],
  [`${'a'.repeat(256)}:1`, 'has a name of 256 characters; the limit is 255'],
])('refuses %s', (ref, problem) => expect(imageReferenceProblem(ref)).toBe(problem));

it('a reference that must be pinned needs a digest', () => {
  expect(imageReferenceProblem('nginx:1.25', 'digest')).toBe("must be pinned by digest, 'name@sha256:<64 hex>'");
  expect(imageReferenceProblem(`nginx@${digest}`, 'digest')).toBeNull();
});
