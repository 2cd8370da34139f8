(function (input, context) {
  return { sum: input.num1 + input.num2 };
})
