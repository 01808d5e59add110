import { isTokenColumn, maskedRow } from './verify';

describe('verify: masking the example rows', () => {
  it('masks the values of token columns (`token`, `*_token`) and nothing else: a token status or time stays readable', () => {
    const row = maskedRow(
      JSON.stringify({
        device_id: 'd1',
        token: 'abcdefghijklmnop',
        previous_token: '0123456789',
        token_status: 'removed',
        token_as_of_ms: 1764582000000,
        token_registered_at_ms: '1764582000000',
        tokens_note: 'plain text',
        user_id: 'kim',
      }),
    );
    expect(JSON.parse(row)).toEqual({
      device_id: 'd1',
      token: '**********klmnop',
      previous_token: '****456789',
      token_status: 'removed',
      token_as_of_ms: 1764582000000,
      token_registered_at_ms: '1764582000000',
      tokens_note: 'plain text',
      user_id: 'kim',
    });
  });

  it('a null token stays null; a token column is named `token` or ends with `_token`', () => {
    expect(JSON.parse(maskedRow('{"token":null,"moved_token":"abcdefghij"}'))).toEqual({
      token: null,
      moved_token: '****efghij',
    });
    expect(['token', 'previous_token', 'token_status', 'tokenizer', 'token_holders'].filter(isTokenColumn)).toEqual([
      'token',
      'previous_token',
    ]);
  });
});
