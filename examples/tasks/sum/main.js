(input) => ({ sum: Object.values(input).reduce((total, n) => total + n, 0) })
