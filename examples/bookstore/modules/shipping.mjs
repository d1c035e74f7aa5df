// The bookstore's shipping module, out of process in Node: `gctx.modules["shipping"]`.
// It speaks JSON-RPC 2.0 over stdio through the runtime's dependency-free helper, whose path the
// runtime passes in GATI_MODULE_JS (docs/module-protocol.md). Declared in bookstore/shipping.py,
// which is also the typed interface mypy checks the handlers' calls against.
const { serve, ModuleError } = await import(process.env.GATI_MODULE_JS);

// cents for the first book and for each further one, and the days on the way, by zone
const ZONES = {
  domestic: { first: 350, each: 100, days: 2 },
  eu: { first: 890, each: 150, days: 4 },
  world: { first: 1590, each: 300, days: 9 },
};
const EU = new Set(["AT", "BE", "DE", "DK", "ES", "FI", "FR", "IE", "IT", "LU", "NL", "PL", "PT", "SE"]);
const HOME = process.env.BOOKSTORE_HOME_COUNTRY || "FR";
const EMBARGOED = new Set(["AQ"]);

function zoneOf(country) {
  if (country === HOME) return "domestic";
  return EU.has(country) ? "eu" : "world";
}

serve({
  // The price and delay of sending `items` books to `country` (ISO 3166 alpha-2).
  quote({ country, items }) {
    const code = String(country).toUpperCase();
    if (EMBARGOED.has(code)) {
      throw new ModuleError(`no carrier delivers to ${code}`, -32010, { country: code });
    }
    const zone = zoneOf(code);
    const rate = ZONES[zone];
    return {
      country: code,
      zone,
      items,
      cents: rate.first + rate.each * (items - 1),
      days: rate.days,
    };
  },
});
