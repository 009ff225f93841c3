;; Reads a JSON array of numbers (nested arrays allowed) into float32, as JSON.parse followed by a
;; Float32Array store would: the hot loop of JSON inference requests (json-data-runs.ts).
;; Compiled by `node tools/wasm.mjs` into json-numbers.wasm.ts; a unit test checks they match.
;;
;; Memory, laid out by json-data-runs.ts: bytes [0, 2640) hold 10^0..10^329 as f64 (written once
;; by JavaScript), [2640, 2896) the shape of the last array and scratch, then the request's JSON
;; text followed by a 0 byte, then room for the float32s.
(module
  ;; |value| of the number text [start, end), read exactly (JavaScript's Number()).
  (import "env" "exact" (func $exact (param i32 i32) (result f64)))
  (memory (export "memory") 1)
  ;; How many numbers the last parseArray call read, and how many dimensions it had.
  (global $count (export "count") (mut i32) (i32.const 0))
  (global $rank (export "rank") (mut i32) (i32.const 0))

  ;; Helpers are written inline: calls between wasm functions are not inlined here.

  ;; The eight digits at $p as a number, or -1 when they are not all digits (SWAR, as simdjson's
  ;; is_made_of_eight_digits_fast and parse_eight_digits_unrolled). The text is followed by a 0
  ;; byte and the float32 area, so reading eight bytes from any position of the text is in bounds.
  (func $eightDigits (param $p i32) (result i64)
    (local $x i64)
    (local.set $x (i64.load (local.get $p)))
    (if (i64.ne
          (i64.or
            (i64.and (local.get $x) (i64.const 0xF0F0F0F0F0F0F0F0))
            (i64.shr_u
              (i64.and
                (i64.add (local.get $x) (i64.const 0x0606060606060606))
                (i64.const 0xF0F0F0F0F0F0F0F0))
              (i64.const 4)))
          (i64.const 0x3333333333333333))
      (then (return (i64.const -1))))
    (local.set $x (i64.sub (local.get $x) (i64.const 0x3030303030303030)))
    (local.set $x
      (i64.add (i64.mul (local.get $x) (i64.const 10)) (i64.shr_u (local.get $x) (i64.const 8))))
    (i64.shr_u
      (i64.add
        (i64.mul
          (i64.and (local.get $x) (i64.const 0x000000FF000000FF))
          (i64.const 0x000F424000000064))
        (i64.mul
          (i64.and (i64.shr_u (local.get $x) (i64.const 16)) (i64.const 0x000000FF000000FF))
          (i64.const 0x0000271000000001)))
      (i64.const 32)))

  ;; The JSON number at $p, stored as float32 at $out. Returns where it ends, or -1 when the
  ;; bytes are not a JSON number. At most 19 significant digits are assembled into an integer
  ;; mantissa; with at most 15 of them and a power of ten up to 10^22 the double is exact
  ;; (Clinger's fast path), otherwise it is within a few units in the last place and, whenever
  ;; that could change the float32 rounding, the number is read exactly by $exact instead.
  (func $number (param $p i32) (param $out i32) (result i32)
    (local $start i32) (local $c i32) (local $negative i32)
    (local $mantissa i64) (local $digits i32) (local $exponent i32)
    (local $written i32) (local $negativeExponent i32)
    (local $value f64) (local $rounded f32) (local $chunk i64)
    (local.set $start (local.get $p))
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 45)) ;; '-'
      (then
        (local.set $negative (i32.const 1))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p)))))
    ;; integer part: 0, or a non-zero digit and more digits
    (if (i32.eq (local.get $c) (i32.const 48))
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p))))
      (else
        (if (i32.eqz (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (block $integerEnd
        (loop $integer
          (if (i32.le_u (local.get $digits) (i32.const 11))
            (then
              (local.set $chunk (call $eightDigits (local.get $p)))
              (if (i64.ge_s (local.get $chunk) (i64.const 0))
                (then
                  (local.set $mantissa
                    (i64.add (i64.mul (local.get $mantissa) (i64.const 100000000)) (local.get $chunk)))
                  (local.set $digits (i32.add (local.get $digits) (i32.const 8)))
                  (local.set $p (i32.add (local.get $p) (i32.const 8)))
                  (local.set $c (i32.load8_u (local.get $p)))
                  (br_if $integer (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
                  (br $integerEnd)))))
          (if (i32.lt_u (local.get $digits) (i32.const 19))
            (then
              (local.set $mantissa
                (i64.add
                  (i64.mul (local.get $mantissa) (i64.const 10))
                  (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
              (local.set $digits (i32.add (local.get $digits) (i32.const 1))))
            (else (local.set $exponent (i32.add (local.get $exponent) (i32.const 1)))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $integer (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))))))
    ;; fraction
    (if (i32.eq (local.get $c) (i32.const 46)) ;; '.'
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.eqz (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (block $fractionEnd
        (loop $fraction
          (if (i32.and
                (i32.le_u (local.get $digits) (i32.const 11))
                (i32.eqz
                  (i32.and (i64.eqz (local.get $mantissa)) (i32.eq (local.get $c) (i32.const 48)))))
            (then
              (local.set $chunk (call $eightDigits (local.get $p)))
              (if (i64.ge_s (local.get $chunk) (i64.const 0))
                (then
                  (local.set $mantissa
                    (i64.add (i64.mul (local.get $mantissa) (i64.const 100000000)) (local.get $chunk)))
                  (local.set $digits (i32.add (local.get $digits) (i32.const 8)))
                  (local.set $exponent (i32.sub (local.get $exponent) (i32.const 8)))
                  (local.set $p (i32.add (local.get $p) (i32.const 8)))
                  (local.set $c (i32.load8_u (local.get $p)))
                  (br_if $fraction (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
                  (br $fractionEnd)))))
          (if (i32.and (i64.eqz (local.get $mantissa)) (i32.eq (local.get $c) (i32.const 48)))
            (then ;; a leading zero: only scales
              (local.set $exponent (i32.sub (local.get $exponent) (i32.const 1))))
            (else
              (if (i32.lt_u (local.get $digits) (i32.const 19))
                (then
                  (local.set $mantissa
                    (i64.add
                      (i64.mul (local.get $mantissa) (i64.const 10))
                      (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                  (local.set $digits (i32.add (local.get $digits) (i32.const 1)))
                  (local.set $exponent (i32.sub (local.get $exponent) (i32.const 1)))))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $fraction (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))))))
    ;; exponent
    (if (i32.eq (i32.or (local.get $c) (i32.const 32)) (i32.const 101)) ;; 'e' or 'E'
      (then
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (i32.eq (local.get $c) (i32.const 45))
          (then (local.set $negativeExponent (i32.const 1))))
        (if (i32.or (i32.eq (local.get $c) (i32.const 45)) (i32.eq (local.get $c) (i32.const 43)))
          (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (local.set $c (i32.load8_u (local.get $p)))))
        (if (i32.eqz (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))) (then (return (i32.const -1))))
        (loop $exponentDigits
          (if (i32.lt_u (local.get $written) (i32.const 100000))
            (then
              (local.set $written
                (i32.add
                  (i32.mul (local.get $written) (i32.const 10))
                  (i32.sub (local.get $c) (i32.const 48))))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (local.set $c (i32.load8_u (local.get $p)))
          (br_if $exponentDigits (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10))))
        (local.set $exponent
          (select
            (i32.sub (local.get $exponent) (local.get $written))
            (i32.add (local.get $exponent) (local.get $written))
            (local.get $negativeExponent)))))
    ;; the value
    (if (i64.eqz (local.get $mantissa))
      (then (local.set $value (f64.const 0)))
      (else
        (if (i32.and
              (i32.le_u (local.get $digits) (i32.const 15))
              (i32.le_u (i32.add (local.get $exponent) (i32.const 22)) (i32.const 44)))
          (then ;; exact
            (local.set $value (f64.convert_i64_u (local.get $mantissa)))
            (local.set $value
              (if (result f64) (i32.lt_s (local.get $exponent) (i32.const 0))
                (then (f64.div (local.get $value) (f64.load (i32.shl (i32.sub (i32.const 0) (local.get $exponent)) (i32.const 3)))))
                (else (f64.mul (local.get $value) (f64.load (i32.shl (local.get $exponent) (i32.const 3))))))))
          (else
            (if (i32.le_u (i32.add (local.get $exponent) (i32.const 300)) (i32.const 600))
              (then
                (local.set $value (f64.convert_i64_u (local.get $mantissa)))
                (local.set $value
                  (if (result f64) (i32.lt_s (local.get $exponent) (i32.const 0))
                    (then (f64.div (local.get $value) (f64.load (i32.shl (i32.sub (i32.const 0) (local.get $exponent)) (i32.const 3)))))
                    (else (f64.mul (local.get $value) (f64.load (i32.shl (local.get $exponent) (i32.const 3)))))))
                (local.set $rounded (f32.demote_f64 (local.get $value)))
                ;; 2^-45 of room either side must round the same way (and the double be finite)
                (if (i32.or
                      (f64.eq (local.get $value) (f64.const inf))
                      (i32.or
                        (f32.ne
                          (f32.demote_f64 (f64.mul (local.get $value) (f64.const 0.99999999999997)))
                          (local.get $rounded))
                        (f32.ne
                          (f32.demote_f64 (f64.mul (local.get $value) (f64.const 1.00000000000003)))
                          (local.get $rounded))))
                  (then (local.set $value (call $exact (local.get $start) (local.get $p))))))
              (else (local.set $value (call $exact (local.get $start) (local.get $p)))))))))
    (if (local.get $negative) (then (local.set $value (f64.neg (local.get $value)))))
    (f32.store (local.get $out) (f32.demote_f64 (local.get $value)))
    (local.get $p))

  ;; The element count of the array open at $depth, kept while a nested array was read.
  (func $parentElements (param $shape i32) (param $depth i32) (result i32)
    (i32.load offset=128
      (i32.add (local.get $shape) (i32.shl (i32.sub (local.get $depth) (i32.const 1)) (i32.const 2)))))

  ;; Closes the array open at $depth, of $length elements: its length becomes the dimension at
  ;; that depth, or must equal it when a sibling set it already. 1 when the nesting is regular.
  (func $closeArray (param $shape i32) (param $depth i32) (param $length i32) (result i32)
    (local $at i32)
    (local.set $at
      (i32.add (local.get $shape) (i32.shl (i32.sub (local.get $depth) (i32.const 1)) (i32.const 2))))
    (if (i32.lt_s (i32.load (local.get $at)) (i32.const 0))
      (then
        (i32.store (local.get $at) (local.get $length))
        (return (i32.const 1))))
    (i32.eq (i32.load (local.get $at)) (local.get $length)))

  ;; Reads the array whose '[' is at $p (the text ends at $end, followed by a 0 byte) into float32s
  ;; from $out on, in text order (row-major), and its shape as i32s at $shape (32 dimensions at
  ;; most; the 128 bytes after them keep the element counts of the enclosing arrays). Returns the position after its closing ']' and sets
  ;; $count and $rank, or returns -1 when it is not well-formed JSON holding only numbers, or its
  ;; nesting is not a regular (rectangular) array.
  (func (export "parseArray")
    (param $p i32) (param $end i32) (param $out i32) (param $shape i32) (result i32)
    (local $c i32) (local $depth i32) (local $count i32) (local $i i32)
    (local $afterValue i32) ;; a value or ']' was just read: ',' or ']' must follow
    (local $mayClose i32) ;; just after '[': ']' may follow at once
    (local $leafDepth i32) ;; the depth numbers are at (0 until the first)
    (local $maxDepth i32)
    (local $elements i32) ;; of the array open at $depth
    (loop $unset
      (i32.store
        (i32.add (local.get $shape) (i32.shl (local.get $i) (i32.const 2)))
        (i32.const -1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $unset (i32.lt_u (local.get $i) (i32.const 32))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (local.set $depth (i32.const 1))
    (local.set $maxDepth (i32.const 1))
    (local.set $mayClose (i32.const 1))
    (block $closed
      (loop $next
        (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
        (local.set $c (i32.load8_u (local.get $p)))
        (if (local.get $afterValue)
          (then
            (if (i32.eq (local.get $c) (i32.const 44)) ;; ','
              (then
                (local.set $afterValue (i32.const 0))
                (local.set $mayClose (i32.const 0))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $next)))
            (if (i32.eq (local.get $c) (i32.const 93)) ;; ']'
              (then
                (if (i32.eqz
                      (call $closeArray (local.get $shape) (local.get $depth) (local.get $elements)))
                  (then (return (i32.const -1))))
                (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br_if $closed (i32.eqz (local.get $depth)))
                (local.set $elements (call $parentElements (local.get $shape) (local.get $depth)))
                (br $next)))
            (if (i32.eqz (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
              (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9)))))
              (then (return (i32.const -1))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $c) (i32.const 91)) ;; '[': an element of the array open here
          (then
            ;; the enclosing array's count waits in memory until this one closes
            (i32.store offset=128
              (i32.add
                (local.get $shape)
                (i32.shl (i32.sub (local.get $depth) (i32.const 1)) (i32.const 2)))
              (i32.add (local.get $elements) (i32.const 1)))
            (local.set $elements (i32.const 0))
            (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
            (if (i32.or
                  (i32.gt_u (local.get $depth) (i32.const 32))
                  (i32.and
                    (i32.ne (local.get $leafDepth) (i32.const 0))
                    (i32.gt_u (local.get $depth) (local.get $leafDepth))))
              (then (return (i32.const -1))))
            (if (i32.gt_u (local.get $depth) (local.get $maxDepth))
              (then (local.set $maxDepth (local.get $depth))))
            (local.set $mayClose (i32.const 1))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        (if (i32.and (i32.eq (local.get $c) (i32.const 93)) (local.get $mayClose)) ;; '[]'
          (then
            (if (i32.eqz
                  (call $closeArray (local.get $shape) (local.get $depth) (local.get $elements)))
              (then (return (i32.const -1))))
            (local.set $afterValue (i32.const 1))
            (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $closed (i32.eqz (local.get $depth)))
            (local.set $elements (call $parentElements (local.get $shape) (local.get $depth)))
            (br $next)))
        (if (i32.or
              (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 10)))
              (i32.or (i32.eq (local.get $c) (i32.const 13)) (i32.eq (local.get $c) (i32.const 9))))
          (then
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $next)))
        ;; a number: all of them must sit at one depth, the deepest
        (if (i32.eqz (local.get $leafDepth))
          (then
            (if (i32.gt_u (local.get $maxDepth) (local.get $depth)) (then (return (i32.const -1))))
            (local.set $leafDepth (local.get $depth))))
        (if (i32.ne (local.get $leafDepth) (local.get $depth)) (then (return (i32.const -1))))
        (local.set $elements (i32.add (local.get $elements) (i32.const 1)))
        (local.set $p
          (call $number
            (local.get $p)
            (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2)))))
        (if (i32.or
              (i32.lt_s (local.get $p) (i32.const 0))
              (i32.gt_u (local.get $p) (local.get $end)))
          (then (return (i32.const -1))))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (local.set $afterValue (i32.const 1))
        (br $next)))
    (global.set $count (local.get $count))
    (global.set $rank
      (select (local.get $leafDepth) (local.get $maxDepth) (local.get $leafDepth)))
    (local.get $p))
)
