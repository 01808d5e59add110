import { unreachable } from './unreachable';

type Shape = { kind: 'circle'; radius: number } | { kind: 'square'; side: number };

const area = (shape: Shape): number => {
  switch (shape.kind) {
    case 'circle':
      return Math.PI * shape.radius ** 2;
    case 'square':
      return shape.side ** 2;
    default:
      return unreachable(shape);
  }
};

describe('unreachable', () => {
  it('is never reached by a value of the union the switch handles', () => {
    expect(area({ kind: 'square', side: 3 })).toBe(9);
  });

  it('throws, naming the value, for data that escaped the types', () => {
    expect(() => area({ kind: 'triangle' } as unknown as Shape)).toThrow('unhandled case {"kind":"triangle"}');
  });
});
