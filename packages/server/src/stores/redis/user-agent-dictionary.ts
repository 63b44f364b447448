/**
 * The preset dictionary for deflating user agents (record-codec.ts, string form 3): fragments
 * that nearly every browser user agent repeats, so a 100-byte one deflates to about a dozen.
 * Deflate copies from anywhere in it, so version numbers need not match; the likeliest agents go
 * last, where back-references are shortest.
 *
 * Stored records depend on these exact bytes: never edit this. A better dictionary is a new
 * string form (or record format) beside this one, and this one stays to read older records.
 */
export const USER_AGENT_DICTIONARY_V1 = Buffer.from(
  [
    'okhttp/4.12.0 Dart/3.5 (dart:io) curl/8.5.0 python-requests/2.32.3 axios/1.7.9 node-fetch',
    ' PostmanRuntime/7.43.0 CFNetwork/1568.100.1 Darwin/24.0.0 Googlebot/2.1',
    ' Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)',
    ' CriOS/130.0.6723.90 Mobile/15E148 Safari/604.1',
    ' Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
    ' Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' Chrome/130.0.0.0 Mobile Safari/537.36',
    ' Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0',
    ' Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
    ' Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0',
    ' Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15',
    ' (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1',
    ' Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
    ' Version/18.0 Safari/605.1.15',
    ' Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' Chrome/130.0.0.0 Safari/537.36',
    ' Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' Chrome/130.0.0.0 Safari/537.36',
    ' Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0',
    ' Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)',
    ' Chrome/130.0.0.0 Safari/537.36',
  ].join(''),
  'latin1',
)
