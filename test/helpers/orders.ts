// Every order of a few items: Stripe does not keep the order of its webhooks.
export function orders<X>(items: readonly X[]): X[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((x, i) =>
    orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]),
  );
}
