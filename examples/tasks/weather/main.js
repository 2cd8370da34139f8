// An async task: awaits fetch web-style. The host performs the request (or a mock
// answers it); a 401/403/429/5xx raises the matching typed error thanks to throwOnError.
async (input, context) => {
  const url = `https://weather.example.com/v1/current?city=${encodeURIComponent(input.city)}`;
  const response = await fetch(url, { headers: { accept: "application/json" }, throwOnError: true });
  const report = await response.json();
  const celsius = report.temperature_c;
  return { city: input.city, celsius, fahrenheit: celsius * 9 / 5 + 32 };
}
