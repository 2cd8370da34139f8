// Throws typed errors the caller can tell apart: a ValidationError for a bad request,
// a RateLimitError when the payment API says 429.
(function (input) {
  const limit = input.limit ?? 1000;
  if (input.amount > limit) {
    throw new ValidationError(`amount ${input.amount} exceeds the limit of ${limit}`, { retryable: false });
  }
  const response = fetch("https://payments.example.com/charges", { method: "POST" }, { amount: input.amount });
  if (response.status === 429) throw new RateLimitError("payment API is rate limiting us", { status: 429 });
  return { charged: response.body.charged };
})
