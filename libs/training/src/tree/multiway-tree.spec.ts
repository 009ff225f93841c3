import { describe, expect, it } from 'vitest';
import { seededRandom } from '@maas/onnx';
// Quinlan (1993), C4.5, table 1-1: the same days with numeric temperature and humidity.
import { WEATHER_ROWS as WEATHER_NUMERIC } from '@maas/testing';
import { Preprocessor } from '../preprocessing/preprocessor.js';
import { predictTree } from './decision-tree.js';
import { attributeDataFrom, multiwayToBinary } from './multiway-encoding.js';
import { pessimisticPruneMultiway, reducedErrorPruneMultiway } from './multiway-pruning.js';
import {
  type AttributeData,
  categoricalGain,
  chooseSplit,
  growMultiwayTree,
  multiwayLeafCount,
  type MultiwayNode,
  thresholdGain,
} from './multiway-tree.js';
import { describeMultiwayTree } from './tree-description.js';

// Quinlan (1986), table 1: the weather data with every attribute categorical.
const WEATHER = [
  ['sunny', 'hot', 'high', 'false', 'no'],
  ['sunny', 'hot', 'high', 'true', 'no'],
  ['overcast', 'hot', 'high', 'false', 'yes'],
  ['rain', 'mild', 'high', 'false', 'yes'],
  ['rain', 'cool', 'normal', 'false', 'yes'],
  ['rain', 'cool', 'normal', 'true', 'no'],
  ['overcast', 'cool', 'normal', 'true', 'yes'],
  ['sunny', 'mild', 'high', 'false', 'no'],
  ['sunny', 'cool', 'normal', 'false', 'yes'],
  ['rain', 'mild', 'normal', 'false', 'yes'],
  ['sunny', 'mild', 'normal', 'true', 'yes'],
  ['overcast', 'mild', 'high', 'true', 'yes'],
  ['overcast', 'hot', 'normal', 'false', 'yes'],
  ['rain', 'mild', 'high', 'true', 'no'],
];
const CATEGORICAL = ['outlook', 'temperature', 'humidity', 'windy'].map((name) => ({
  name,
  type: 'categorical' as const,
}));

const MIXED = [
  { name: 'outlook', type: 'categorical' as const },
  { name: 'temperature', type: 'numeric' as const },
  { name: 'humidity', type: 'numeric' as const },
  { name: 'windy', type: 'categorical' as const },
];

function dataset(table: string[][], types: typeof CATEGORICAL | typeof MIXED) {
  const features = table.map((row) => row.slice(0, 4));
  const classes = [...new Set(table.map((row) => row[4]))].sort();
  const y = table.map((row) => classes.indexOf(row[4]));
  const pre = Preprocessor.fit(features, types, { standardize: false });
  const data = attributeDataFrom(features, y, pre.state, classes.length);
  return { features, classes, y, pre, data, rows: table.map((_, i) => i) };
}

/** Published values are given to three decimals (Quinlan truncates some: 0.2467 → 0.246). */
function expectPublished(value: number, published: number) {
  expect(Math.abs(value - published)).toBeLessThanOrEqual(0.001);
}

const allCases = (n: number) => Array.from({ length: n }, (_, row) => ({ row, weight: 1 }));

function branch(node: MultiwayNode, data: AttributeData, category: string): MultiwayNode {
  const attribute = data.attributes[node.split!.attribute];
  if (attribute.type !== 'categorical') throw new Error('not a categorical split');
  return node.children[attribute.categories.indexOf(category)];
}

describe('ID3 and C4.5 on Quinlan’s weather data', () => {
  const weather = dataset(WEATHER, CATEGORICAL);
  const gains = () =>
    Object.fromEntries(
      weather.data.attributes.map((a, i) => [
        a.name,
        categoricalGain(weather.data, i, allCases(14)),
      ]),
    );

  // Quinlan (1986) and C4.5 (1993), ch. 2: each attribute's information gain and gain ratio.
  const PUBLISHED = [
    { measure: 'gain', outlook: 0.246, humidity: 0.151, windy: 0.048, temperature: 0.029 },
    { measure: 'gainRatio', outlook: 0.156, humidity: 0.152, windy: 0.049, temperature: 0.019 },
  ] as const;
  for (const { measure, ...published } of PUBLISHED) {
    it(`computes the published ${measure} of each attribute at the root`, () => {
      const g = gains();
      for (const [attribute, value] of Object.entries(published)) {
        expectPublished(g[attribute][measure], value);
      }
    });
  }

  it('splits ID3’s root on outlook, the attribute with the largest gain', () => {
    expect(
      chooseSplit(weather.data, allCases(14), { variant: 'id3', minSamplesLeaf: 1 }),
    ).toMatchObject({
      attribute: 0,
    });
  });

  it('grows ID3’s textbook tree with one branch per category', () => {
    const tree = growMultiwayTree(weather.data, weather.rows, {
      variant: 'id3',
      maxDepth: 10,
      minSamplesLeaf: 1,
      minGain: 0,
    });
    const description = describeMultiwayTree(tree, weather.pre.state, weather.classes, 'none');
    expect(description.rules.sort()).toEqual(
      [
        'IF outlook = overcast THEN yes',
        'IF outlook = rain AND windy = false THEN yes',
        'IF outlook = rain AND windy = true THEN no',
        'IF outlook = sunny AND humidity = high THEN no',
        'IF outlook = sunny AND humidity = normal THEN yes',
      ].sort(),
    );
    expect(description.root).toMatchObject({
      type: 'split',
      feature: 'outlook',
      split: { kind: 'categories', categories: ['overcast', 'rain', 'sunny'] },
      criterion: { name: 'informationGain' },
      samples: 14,
      distribution: { no: 5, yes: 9 },
    });
    // The binary form served through ONNX decides every training row as the tree does.
    const binary = multiwayToBinary(tree, weather.pre.state);
    weather.features.forEach((row, i) => {
      const p = predictTree(binary, weather.pre.transform(row));
      expect(p[weather.y[i]]).toBe(1);
    });
    // An unseen outlook takes the root's distribution.
    expect(predictTree(binary, weather.pre.transform(['fog', 'hot', 'high', 'false']))).toEqual([
      5 / 14,
      9 / 14,
    ]);
  });

  it('splits numeric attributes at a training value: humidity > 75', () => {
    const numeric = dataset(WEATHER_NUMERIC, MIXED);
    const sunny = numeric.rows.filter((i) => WEATHER_NUMERIC[i][0] === 'sunny');
    const humidity = thresholdGain(
      numeric.data,
      2,
      sunny.map((row) => ({ row, weight: 1 })),
      { minSamplesLeaf: 2, mdl: false },
    );
    // Midpoint 77.5 between 70 and 85; the largest value not above it in the data is 75.
    expect(humidity).toMatchObject({ threshold: 75, branchWeights: [2, 3] });
    expect(humidity!.gain).toBeCloseTo(0.971, 3);
    const tree = growMultiwayTree(numeric.data, numeric.rows, {
      variant: 'c4.5',
      maxDepth: 10,
      minSamplesLeaf: 2,
      minGain: 0,
    });
    const rules = describeMultiwayTree(tree, numeric.pre.state, numeric.classes, 'none').rules;
    expect(rules).toContain("IF outlook = sunny AND humidity > 75 THEN don't");
    expect(rules).toContain('IF outlook = sunny AND humidity <= 75 THEN play');
  });

  it('handles a missing value with fractional instances as Quinlan describes', () => {
    // C4.5, ch. 3: the outlook of the sixth case (overcast, 72, 90, true, play) is unknown.
    const table = WEATHER_NUMERIC.map((row, i) => (i === 5 ? ['', ...row.slice(1)] : row));
    const numeric = dataset(table, MIXED);
    const outlook = categoricalGain(numeric.data, 0, allCases(14));
    expect(outlook.gain).toBeCloseTo(0.199, 3);
    // Split information over four outcomes (the unknown one included): 1.809 bits.
    expect(outlook.gain / outlook.gainRatio).toBeCloseTo(1.809, 3);

    const tree = growMultiwayTree(numeric.data, numeric.rows, {
      variant: 'c4.5',
      maxDepth: 10,
      minSamplesLeaf: 2,
      minGain: 0,
    });
    const sunny = branch(tree.root, numeric.data, 'sunny');
    const overcast = branch(tree.root, numeric.data, 'overcast');
    const rain = branch(tree.root, numeric.data, 'rain');
    // The unknown case goes down each branch with weight 5/13, 3/13 and 5/13.
    expect(sunny.samples).toBeCloseTo(5 + 5 / 13, 6);
    expect(overcast.samples).toBeCloseTo(3 + 3 / 13, 6);
    expect(overcast.split).toBeUndefined();
    // Quinlan's tree: humidity > 75: don't play (3.4/0.4); windy = true: don't play (2.4/0.4).
    expect(sunny.split?.threshold).toBe(75);
    const humid = sunny.children[1];
    expect(humid.samples).toBeCloseTo(3.4, 1);
    expect(humid.samples - Math.max(...humid.distribution)).toBeCloseTo(0.4, 1);
    const windy = branch(rain, numeric.data, 'true');
    expect(windy.samples).toBeCloseTo(2.4, 1);
    expect(windy.distribution[numeric.classes.indexOf('play')]).toBeCloseTo(5 / 13, 6);
  });
});

describe('pruning multiway trees', () => {
  /** y = a (two categories), 15% of labels flipped; two noise attributes the full tree uses. */
  function noisy() {
    const random = seededRandom(7);
    const pick = (options: string[]) => options[Math.floor(random() * options.length)];
    const table: string[][] = [];
    for (let i = 0; i < 200; i += 1) {
      const a = pick(['p', 'q']);
      const flipped = random() < 0.15;
      const label = (a === 'p') !== flipped ? 'one' : 'two';
      table.push([a, pick(['w', 'x', 'y', 'z']), pick(['r', 's', 't']), pick(['u', 'v']), label]);
    }
    return dataset(table, CATEGORICAL);
  }

  it('pessimistic pruning replaces subtrees whose estimated errors are no better', () => {
    const { data, rows } = noisy();
    const full = growMultiwayTree(data, rows, {
      variant: 'c4.5',
      maxDepth: 10,
      minSamplesLeaf: 1,
      minGain: 0,
    });
    const pruned = pessimisticPruneMultiway(full, data, rows, 0.25);
    expect(multiwayLeafCount(pruned.root)).toBeLessThan(multiwayLeafCount(full.root));
    expect(pruned.root.split?.attribute).toBe(0);
    expect(pruned.root.children.every((child) => child.split === undefined)).toBe(true);
  });

  it('subtree raising lifts the most-used branch over a useless test', () => {
    // The root test (flag) separates nothing; its big branch holds the real split on `a`.
    const table: string[][] = [];
    for (let i = 0; i < 60; i += 1) {
      const a = i % 2 === 0 ? 'p' : 'q';
      table.push([a, i < 57 ? 'big' : 'small', '0', 'x', a === 'p' ? 'one' : 'two']);
    }
    const set = dataset(table, CATEGORICAL);
    const flag = { attribute: 1, gain: 0, gainRatio: 0, branchWeights: [57, 3] };
    const grown = growMultiwayTree(set.data, set.rows.slice(0, 57), {
      variant: 'c4.5',
      maxDepth: 10,
      minSamplesLeaf: 1,
      minGain: 0,
    });
    const small = growMultiwayTree(set.data, set.rows.slice(57), {
      variant: 'c4.5',
      maxDepth: 10,
      minSamplesLeaf: 1,
      minGain: 0,
    });
    const tree = {
      variant: 'c4.5' as const,
      classCount: 2,
      root: {
        distribution: [30, 30],
        samples: 60,
        split: flag,
        children: [grown.root, small.root],
      },
    };
    const pruned = pessimisticPruneMultiway(tree, set.data, set.rows, 0.25);
    // The root now tests `a`, and its leaves count all 60 cases.
    expect(pruned.root.split?.attribute).toBe(0);
    expect(pruned.root.samples).toBe(60);
    expect(pruned.root.children.map((c) => c.samples)).toEqual([30, 30]);
  });

  it('reduced-error pruning collapses exactly the nodes that do not help on validation cases', () => {
    const { data, rows } = noisy();
    const growRows = rows.filter((i) => i % 4 !== 3);
    const validation = rows.filter((i) => i % 4 === 3);
    const full = growMultiwayTree(data, growRows, {
      variant: 'id3',
      maxDepth: 10,
      minSamplesLeaf: 1,
      minGain: 0,
    });
    const pruned = reducedErrorPruneMultiway(full, data, validation);
    expect(multiwayLeafCount(pruned.root)).toBeLessThan(multiwayLeafCount(full.root));
    // The useful split on `a` stays: a single leaf would get half the validation cases wrong.
    expect(pruned.root.split?.attribute).toBe(0);
  });

  it('pre-prunes splits whose criterion value does not exceed minGain', () => {
    const weather = dataset(WEATHER, CATEGORICAL);
    const options = { variant: 'id3' as const, maxDepth: 10, minSamplesLeaf: 1 };
    const full = growMultiwayTree(weather.data, weather.rows, { ...options, minGain: 0 });
    // The root gains 0.246 bits; its children's best splits gain 0.971 bits.
    const stump = growMultiwayTree(weather.data, weather.rows, { ...options, minGain: 0.25 });
    expect(multiwayLeafCount(full.root)).toBe(5);
    expect(stump.root.split).toBeUndefined();
    const shallow = growMultiwayTree(weather.data, weather.rows, { ...options, minGain: 0.2 });
    expect(shallow.root.split?.attribute).toBe(0);
  });
});
