"""Results for people: run records collected into pandas (:mod:`.records`), the paper's reported numbers
(:mod:`.reported`, ``paper_numbers.yaml``), paper-style tables (:mod:`.tables`), figures (:mod:`.figures`),
the qualitative tasks' galleries (:mod:`.gallery`), the noise-impedance figure (:mod:`.impedance`), output file
names (:mod:`.naming`) and the report that assembles them (:mod:`.build`)."""
