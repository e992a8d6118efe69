"""CLIP's byte-level BPE tokenizer, written out so that class names can be
embedded without PyTorch (the PyTorch path uses mmseg's, which gives the
same token ids)."""
import gzip
import html
import math
from typing import Dict, List, Sequence

import numpy as np


class TextTooLongError(ValueError):
    """A text has more tokens than the text encoder reads.

    Attributes:
        index: Its position in the texts.
        length: Its tokens, with the start and end tokens.
    """

    def __init__(self, index: int, length: int, context_length: int,
                 text: str):
        super().__init__(f'{text!r} is {length} tokens with the start and '
                         f'end tokens; the text encoder reads '
                         f'{context_length}: shorten it')
        self.index = index
        self.length = length


def _byte_characters() -> Dict[int, str]:
    """CLIP's reversible map of the 256 byte values to characters: the
    printable Latin-1 bytes stand for themselves, every other byte for a
    code point from 256 up, in byte order (the order of the table is the
    order of the vocabulary's first 256 entries)."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {byte: chr(byte) for byte in printable}
    others = [byte for byte in range(256) if byte not in table]
    table.update({byte: chr(256 + i) for i, byte in enumerate(others)})
    return table


class ClipTokenizer:
    """CLIP's byte-level BPE tokenizer; the same token ids as
    ``mmseg.utils.tokenize`` (and OpenAI's CLIP).

    Text is repaired with ftfy, HTML-unescaped twice, its white space
    collapsed and lower-cased, split into words, numbers' digits and
    punctuation runs, and each piece's UTF-8 bytes merged by the
    vocabulary's ranked merges.

    Args:
        vocabulary: ``bpe_simple_vocab_16e6.txt.gz`` (the merges, one pair a
            line after a header line).
    """

    START = '<start_of_text>'
    END = '<end_of_text>'
    # The merges CLIP uses: its vocabulary of 49,408 tokens is 256 bytes,
    # 256 word-final bytes, these merges and the two special tokens.
    NUM_MERGES = 49152 - 256 - 2

    def __init__(self, vocabulary: str):
        try:
            with gzip.open(vocabulary, 'rt', encoding='utf-8') as f:
                lines = f.read().split('\n')
        except (OSError, EOFError, UnicodeDecodeError) as err:
            raise ValueError(f'{vocabulary} is not a gzipped BPE vocabulary '
                             f'({err})') from err
        merges = [tuple(line.split()) for line in lines[1:self.NUM_MERGES + 1]]
        if len(merges) != self.NUM_MERGES or any(
                len(pair) != 2 for pair in merges):
            raise ValueError(
                f'{vocabulary} is not CLIP\'s BPE vocabulary (it needs '
                f'{self.NUM_MERGES} merge lines of two symbols)')
        import ftfy
        import regex
        self._fix_text = ftfy.fix_text
        self._regex = regex
        self._bytes = _byte_characters()
        base = list(self._bytes.values())
        tokens = base + [c + '</w>' for c in base]
        tokens += [first + second for first, second in merges]
        tokens += [self.START, self.END]
        self.ids = {token: i for i, token in enumerate(tokens)}
        self._ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._words: Dict[str, List[str]] = {
            token: [token]
            for token in (self.START, self.END)
        }
        self._pieces = regex.compile(
            f'{self.START}|{self.END}|'
            r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def _merge(self, piece: str) -> List[str]:
        """The BPE symbols of one piece (its byte characters): the pair of
        lowest rank is merged everywhere, left to right, until no pair of
        neighbours is a merge; the last symbol ends in ``</w>``."""
        if piece in self._words:
            return self._words[piece]
        symbols = list(piece[:-1]) + [piece[-1] + '</w>']
        while len(symbols) > 1:
            pairs = list(zip(symbols, symbols[1:]))
            best = min(pairs, key=lambda p: self._ranks.get(p, math.inf))
            if best not in self._ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if (i + 1 < len(symbols)
                        and (symbols[i], symbols[i + 1]) == best):
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self._words[piece] = symbols
        return symbols

    def encode(self, text: str) -> List[int]:
        """Token ids of ``text``, without the start and end tokens."""
        text = html.unescape(html.unescape(self._fix_text(text))).strip()
        text = self._regex.sub(r'\s+', ' ', text).strip().lower()
        ids = []
        for piece in self._regex.findall(self._pieces, text):
            characters = ''.join(self._bytes[b] for b in piece.encode())
            ids.extend(self.ids[s] for s in self._merge(characters))
        return ids

    def __call__(self,
                 texts: Sequence[str],
                 context_length: int = 77,
                 truncate: bool = False) -> np.ndarray:
        """``(N, context_length)`` int64 ids: start token, the text's
        tokens, end token, zeros.

        Args:
            texts: The texts.
            context_length: Tokens per text.
            truncate: Cut a text that is too long to ``context_length``
                tokens, the last one the end token (as mmseg's
                ``tokenize``); by default such a text is an error.

        Raises:
            TextTooLongError: a text is too long, unless ``truncate``.
        """
        out = np.zeros((len(texts), context_length), np.int64)
        for row, text in enumerate(texts):
            ids = [self.ids[self.START]
                   ] + self.encode(text) + [self.ids[self.END]]
            if len(ids) > context_length:
                if not truncate:
                    raise TextTooLongError(row, len(ids), context_length, text)
                ids = ids[:context_length - 1] + [self.ids[self.END]]
            out[row, :len(ids)] = ids
        return out
