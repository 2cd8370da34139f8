(input) => ({ message: `${input.greeting} Your total is ${input.total}.` })
