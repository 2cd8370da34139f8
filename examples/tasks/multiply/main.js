(input) => ({ product: input.num1 * input.num2 })
