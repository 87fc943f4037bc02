print("swiftd")
