import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expand } from '../../../core/pods/resolve/expand.ts';

const vars: Record<string, string> = { HOST: 'db', PORT: '5432', EMPTY: '' };
const lookup = (name: string) => vars[name];

describe('$(VAR) expansion', () => {
  it('replaces defined variables, including empty ones', () => {
    assert.equal(expand('postgres://$(HOST):$(PORT)/app', lookup), 'postgres://db:5432/app');
    assert.equal(expand('[$(EMPTY)]', lookup), '[]');
  });

  it('leaves undefined variables as written', () => {
    assert.equal(expand('$(NOPE) and $(HOST)', lookup), '$(NOPE) and db');
  });

  it('treats $$ as an escaped $, so $$(VAR) is the literal $(VAR)', () => {
    assert.equal(expand('$$(HOST)', lookup), '$(HOST)');
    assert.equal(expand('$$$(HOST)', lookup), '$db');
    assert.equal(expand('cost: $$5', lookup), 'cost: $5');
    assert.equal(expand('$$$$(HOST)', lookup), '$$(HOST)');
  });

  it('keeps a $ that does not start a reference, an unterminated $( and a trailing $', () => {
    assert.equal(expand('$HOST', lookup), '$HOST');
    assert.equal(expand('$(HOST', lookup), '$(HOST');
    assert.equal(expand('a$', lookup), 'a$');
    assert.equal(expand('$', lookup), '$');
    assert.equal(expand('$()', lookup), '$()');
  });

  it('does not expand the values it substitutes', () => {
    assert.equal(
      expand('$(A)', (name) => (name === 'A' ? '$(B)' : 'b')),
      '$(B)',
    );
  });
});
