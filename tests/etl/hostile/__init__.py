"""A hostile-file suite for the ETL (issue 21, item 8): a generator of damaged and hostile files,
the invariants every load of one must respect, and the tests that check them."""
