// The first `number % parts` shares get one more, so the shares add up to `number`.
(function (input) {
  const base = Math.floor(input.number / input.parts);
  const extra = input.number % input.parts;
  return { shares: Array.from({ length: input.parts }, (_, i) => base + (i < extra ? 1 : 0)) };
})
