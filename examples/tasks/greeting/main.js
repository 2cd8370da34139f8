// A script defining a global `main` (instead of evaluating to a function).
const GREETINGS = { en: "Hello", fr: "Bonjour", de: "Hallo" };

function main(input) {
  const greeting = GREETINGS[input.language ?? "en"];
  console.log(`greeting ${input.name} in ${input.language ?? "en"}`);
  return { message: `${greeting}, ${input.name}!` };
}
