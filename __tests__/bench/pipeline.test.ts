// The critical-path estimate `npm run bench` prints: Cloud Build's waitFor rule, one pull per image per worker, and
// a big image on the critical path showing up as seconds.
import { join } from 'node:path';
import { estimateBuild, EstimateStep, loadPullTable, PullTable, synthesizedTriggers } from '../../bench/pipeline';

const table: PullTable = {
  images: { small: { seconds: 4 }, big: { seconds: 38 } },
  unknownImageSeconds: 30,
  steps: { a: 2, b: 10, c: 3 },
  defaultStepSeconds: 5,
};

it('runs steps after what they wait for, pulls each image once, and names the critical path', () => {
  const steps: EstimateStep[] = [
    { id: 'a', name: 'small', wait_for: ['-'] },
    { id: 'b', name: 'small', wait_for: ['-'] },
    { id: 'c', name: 'small', wait_for: ['a', 'b'] },
  ];
  expect(estimateBuild(steps, table)).toMatchObject({ seconds: 4 + 10 + 3, pullSeconds: 4, path: ['b', 'c'], images: ['small'] });
});

it('a big image on the critical path adds its pull; an unknown image is counted, not ignored', () => {
  const steps = (image: string): EstimateStep[] => [
    { id: 'a', name: 'small', wait_for: ['-'] },
    { id: 'c', name: image, wait_for: ['a'] },
  ];
  expect(estimateBuild(steps('small'), table).seconds).toBe(4 + 2 + 3);
  expect(estimateBuild(steps('big'), table).seconds).toBe(4 + 2 + 38 + 3);
  expect(estimateBuild(steps('never-seen'), table).seconds).toBe(4 + 2 + 30 + 3);
});

it('steps without waitFor wait for every earlier step', () => {
  const steps: EstimateStep[] = [
    { id: 'a', name: 'small', wait_for: ['-'] },
    { id: 'b', name: 'small', wait_for: ['-'] },
    { id: 'x', name: 'small' },
  ];
  expect(estimateBuild(steps, table).steps.find((s) => s.id === 'x')!.start).toBe(14);
});

it("the synthesized production build pulls one image, and every image of a service's builds is in the table", () => {
  const root = join(__dirname, '..', '..');
  const pulls = loadPullTable(root);
  const triggers = synthesizedTriggers(root);
  expect(estimateBuild(triggers['svc-000-production'], pulls).images).toHaveLength(1);
  for (const steps of Object.values(triggers))
    for (const s of steps) expect([s.name, pulls.images[s.name] !== undefined]).toEqual([s.name, true]);
});
