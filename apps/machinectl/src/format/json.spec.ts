import { expect } from 'chai';
import { formatJson } from './json.js';

describe('JSON output (json_variant_dump)', () => {
  const v = [{ machine: '.host', class: 'host', service: null, n: 18446744073709551615n, ok: true }];
  it('is compact for -o json, with exact 64-bit numbers', () => {
    expect(formatJson(v, 'json')).to.equal('[{"machine":".host","class":"host","service":null,"n":18446744073709551615,"ok":true}]\n');
    expect(formatJson([], 'json')).to.equal('[]\n');
  });
  it('indents with tabs and spaces around colons for -o json-pretty', () => {
    expect(formatJson(v, 'json-pretty')).to.equal(
      '[\n\t{\n\t\t"machine" : ".host",\n\t\t"class" : "host",\n\t\t"service" : null,\n\t\t"n" : 18446744073709551615,\n\t\t"ok" : true\n\t}\n]\n',
    );
  });
  it('frames json-sse and json-seq', () => {
    expect(formatJson([], 'json-sse')).to.equal('data: []\n\n');
    expect(formatJson([], 'json-seq')).to.equal('\x1e[]\n');
  });
});
