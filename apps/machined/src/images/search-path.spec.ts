import { expect } from 'chai';
import { ConfigError, parseConfig, type Config } from '../config.js';

const cfg = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseConfig(argv, env) as Config;

describe('image search path configuration', () => {
  it("defaults to upstream's search path around the pool", () => {
    expect(cfg([]).imageSearchPath).to.deep.equal(['/etc/machines', '/run/machines', '/var/lib/machines', '/usr/local/lib/machines', '/usr/lib/machines']);
    expect(cfg(['--pool-path', '/srv/pool']).imageSearchPath).to.deep.equal(['/etc/machines', '/run/machines', '/srv/pool', '/usr/local/lib/machines', '/usr/lib/machines']);
  });

  it('takes --image-search-path over $MACHINED_IMAGE_SEARCH_PATH, and always searches the pool', () => {
    expect(cfg(['--image-search-path', '/a:/var/lib/machines:/b']).imageSearchPath).to.deep.equal(['/a', '/var/lib/machines', '/b']);
    expect(cfg([], { MACHINED_IMAGE_SEARCH_PATH: '/x' }).imageSearchPath).to.deep.equal(['/var/lib/machines', '/x']);
    expect(() => parseConfig(['--image-search-path', 'relative:/b'], {})).to.throw(ConfigError, /relative/);
  });
});
